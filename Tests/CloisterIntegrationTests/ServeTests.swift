import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `cloister serve` (which execs the built `cloister-serve`) on a free loopback port,
/// driven by real clients: curl, a real Prometheus server, python3 with jsonpatch, and
/// kubernetes-validate.
@Suite("cloister serve", .serialized)
struct ServeTests {
    static let hardenedPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"hostUsers":false,
        "automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":10001,
        "runAsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"web",
        "image":"example.org/web:1","securityContext":{"allowPrivilegeEscalation":false,
        "readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]},"appArmorProfile":{"type":"RuntimeDefault"}},
        "resources":{"limits":{"cpu":"500m","memory":"256Mi"}}}]}}
        """
    static let privilegedPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"root-shell","namespace":"shop"},"spec":{"hostPID":true,
        "containers":[{"name":"shell","image":"busybox","securityContext":{"privileged":true}}]}}
        """

    static func review(uid: String, object: String) -> String {
        """
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\(uid)",
        "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
        "operation":"CREATE","namespace":"shop","object":\(object)}}
        """
    }

    @Test("a real Prometheus scrapes /metrics and its query API returns the container's exposure", .needsPodman)
    func prometheusScrapes() throws {
        try #require(Host.requires(Shell.has("prometheus")), "needs prometheus (scripts/install-deps.sh)")
        let container = try PodmanContainer.run("serve-metrics")
        defer { container.stop() }
        let server = try ServeProcess.start(["--interval", "1"])
        defer { server.process.stop() }

        // The serve process has scanned once the container is in /scan.
        var posture: Posture?
        let scanned = try wait(timeout: 120) {
            let result = try Shell.run(["curl", "-sf", "\(server.url)/scan"], check: false)
            guard result.succeeded, let report = try? JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
            else { return false }
            posture = report.workloads.first { $0.name == container.name }
            return posture != nil
        }
        #expect(scanned, "the container never appeared in /scan; serve log:\n\(server.process.log)")
        let score = try #require(posture?.exposure?.score)

        let prometheus = try PrometheusServer.start(scraping: server.port)
        defer { prometheus.stop() }
        let query = "cloister_workload_exposure_score{name=\"\(container.name)\",runtime=\"podman\",kind=\"container\"}"
        var values: [String] = []
        let found = try wait(timeout: 90) {
            values = try prometheus.query(query)
            return !values.isEmpty
        }
        #expect(found, "Prometheus never returned \(query); its log:\n\(prometheus.process.log.suffix(3000))")
        #expect(values.compactMap(Double.init) == [score])
        // The scan-level series are there too, and the target is up.
        #expect(try prometheus.query("up{job=\"cloister\"}") == ["1"])
        #expect(try !prometheus.query("cloister_scan_duration_seconds").isEmpty)
        #expect(try prometheus.query("cloister_scan_errors_total") == ["0"])
        #expect(try !prometheus.query("cloister_workload_findings{name=\"\(container.name)\"}").isEmpty)
    }

    @Test("admission: a privileged pod is denied, a hardened pod allowed; the uid is echoed")
    func admission() throws {
        let server = try ServeProcess.start(["--interval", "3600"])
        defer { server.process.stop() }

        let denied = try server.post("/admission", body: Self.review(uid: "deny-1", object: Self.privilegedPod))
        #expect(denied.status == 200)
        let deniedResponse = try #require(denied.json?["response"] as? [String: Any])
        #expect(deniedResponse["uid"] as? String == "deny-1")
        #expect(deniedResponse["allowed"] as? Bool == false)
        let status = try #require(deniedResponse["status"] as? [String: Any])
        // Denied by the default policy, PSA's: baseline enforced, in PSA's words.
        let message = try #require(status["message"] as? String)
        #expect(message.contains("violates PodSecurity \"baseline:latest\": host namespaces (hostPID)"), "\(message)")
        #expect(message.contains("privileged (container \"shell\" must not set securityContext.privileged=true)"), "\(message)")
        #expect(status["code"] as? Int == 403)

        let allowed = try server.post("/validate", body: Self.review(uid: "allow-1", object: Self.hardenedPod))
        let allowedResponse = try #require(allowed.json?["response"] as? [String: Any])
        #expect(allowedResponse["uid"] as? String == "allow-1")
        #expect(allowedResponse["allowed"] as? Bool == true)
        #expect(allowedResponse["patch"] == nil)

        let malformed = try server.post("/admission", body: "{\"apiVersion\":\"admission.k8s.io/v1\",")
        #expect(malformed.status == 400)
        #expect(malformed.body.contains("not valid JSON"))
        #expect(server.process.isRunning)
    }

    static let plainPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"box","namespace":"shop"},"spec":{
        "containers":[{"name":"box","image":"busybox","command":["sleep","3600"]}]}}
        """
    static let hostPIDPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"top","namespace":"shop"},"spec":{"hostPID":true,
        "containers":[{"name":"top","image":"busybox"}]}}
        """

    @Test("default policy: a plain pod is admitted with warnings, hostPID is denied, a restricted pod has no warning")
    func podSecurityDefaults() throws {
        let server = try ServeProcess.start(["--interval", "3600", "--no-scan"])
        defer { server.process.stop() }

        let plain = try #require(try server.post("/admission", body: Self.review(uid: "plain", object: Self.plainPod)).json?["response"] as? [String: Any])
        #expect(plain["allowed"] as? Bool == true)
        let warnings = plain["warnings"] as? [String] ?? []
        #expect(warnings.first?.hasPrefix("would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false") == true, "\(warnings)")
        #expect(warnings.contains { $0.hasPrefix("[high] ct-seccomp-unconfined") }, "cloister's own findings warn: \(warnings)")

        let hostPID = try #require(try server.post("/admission", body: Self.review(uid: "pid", object: Self.hostPIDPod)).json?["response"] as? [String: Any])
        #expect(hostPID["allowed"] as? Bool == false)
        let message = (hostPID["status"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("host namespaces (hostPID)") && message.contains("Host Namespaces"), "\(message)")

        let restricted = try #require(try server.post("/admission", body: Self.review(uid: "ok", object: Self.hardenedPod)).json?["response"] as? [String: Any])
        #expect(restricted["allowed"] as? Bool == true)
        #expect(restricted["warnings"] == nil, "\(restricted["warnings"] ?? "")")

        // PSA's own flags: enforcing restricted denies the plain pod; --enforce none admits hostPID.
        let strict = try ServeProcess.start(["--interval", "3600", "--no-scan", "--enforce", "restricted:v1.30", "--audit", "restricted"])
        defer { strict.process.stop() }
        let denied = try #require(try strict.post("/admission", body: Self.review(uid: "strict", object: Self.plainPod)).json?["response"] as? [String: Any])
        #expect(denied["allowed"] as? Bool == false)
        #expect(((denied["status"] as? [String: Any])?["message"] as? String)?.contains("violates PodSecurity \"restricted:v1.30\"") == true)
        let audited = denied["auditAnnotations"] as? [String: String]
        #expect(audited?["pod-security.kubernetes.io/audit-violations"]?.hasPrefix("would violate PodSecurity \"restricted:latest\"") == true)
    }

    @Test(
        "/mutate: a valid JSON Patch that sets the RuntimeClass advise chose and yields a valid Pod",
        .enabled(if: Host.requires(Shell.has("kubernetes-validate")), "needs kubernetes-validate and python3 jsonpatch"))
    func mutate() throws {
        let server = try ServeProcess.start(["--interval", "3600", "--mutate", "--threat-model", "untrusted-code"])
        defer { server.process.stop() }
        let answer = try server.post("/mutate", body: Self.review(uid: "mutate-1", object: Self.hardenedPod))
        let response = try #require(answer.json?["response"] as? [String: Any], "\(answer.body)")
        #expect(response["allowed"] as? Bool == true)
        #expect(response["patchType"] as? String == "JSONPatch")
        let patch = try #require((response["patch"] as? String).flatMap { Data(base64Encoded: $0) })

        // What advise itself chooses for the same pod and threat model: the patch must set its RuntimeClass.
        let directory = try temporaryDirectory("serve-mutate")
        defer { try? FileManager.default.removeItem(at: directory) }
        let podFile = directory.appendingPathComponent("pod.json")
        try Data(Self.hardenedPod.utf8).write(to: podFile)
        let advice = try Shell.run([
            try Paths.cloisterExecutable().path, "advise", "--from", podFile.path, "--threat-model", "untrusted-code",
            "--format", "json",
        ])
        let adviceJSON = try #require(try JSONSerialization.jsonObject(with: Data(advice.stdout.utf8)) as? [String: Any])
        let option = try #require((adviceJSON["recommendation"] as? [String: Any])?["option"] as? String)
        let defaults = ["gvisor": "gvisor", "kata": "kata", "microvm": "kata-fc"]
        let expected = try #require(defaults[option], "advise chose \(option), which has no default RuntimeClass")

        // Apply with python3's jsonpatch (RFC 6902), then validate the Pod against the API schema.
        let patchFile = directory.appendingPathComponent("patch.json")
        try patch.write(to: patchFile)
        let patchedFile = directory.appendingPathComponent("patched.json")
        try Shell.run([
            "python3", "-c",
            """
            import json, sys, jsonpatch
            pod = json.load(open(sys.argv[1]))
            patch = jsonpatch.JsonPatch(json.load(open(sys.argv[2])))
            json.dump(patch.apply(pod), open(sys.argv[3], "w"))
            """,
            podFile.path, patchFile.path, patchedFile.path,
        ])
        let patched = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: patchedFile)) as? [String: Any])
        #expect((patched["spec"] as? [String: Any])?["runtimeClassName"] as? String == expected)
        try Shell.run(["kubernetes-validate", "--strict", patchedFile.path])
    }

    @Test("a body over --max-body-bytes gets 413; the server keeps serving")
    func oversizeBody() throws {
        let server = try ServeProcess.start(["--interval", "3600", "--max-body-bytes", "65536"])
        defer { server.process.stop() }
        let big = String(repeating: "x", count: 200_000)
        let answer = try server.post("/admission", body: Self.review(uid: "big", object: "\"\(big)\""))
        #expect(answer.status == 413)
        let small = try server.post("/admission", body: Self.review(uid: "small", object: Self.hardenedPod))
        #expect(small.status == 200)
    }

    @Test("SIGTERM with a request in flight: the request completes and serve exits 0 promptly")
    func sigterm() throws {
        let server = try ServeProcess.start(["--interval", "3600"])
        defer { server.process.stop() }
        let directory = try temporaryDirectory("serve-sigterm")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A client that sends the headers and half the body, says so, waits, then sends the rest.
        let body = Self.review(uid: "in-flight", object: Self.hardenedPod)
        let bodyFile = directory.appendingPathComponent("body.json")
        try Data(body.utf8).write(to: bodyFile)
        let client = try BackgroundProcess(
            [
                "python3", "-u", "-c",
                """
                import socket, sys, time
                body = open(sys.argv[2], "rb").read()
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                s.sendall(b"POST /admission HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body))
                s.sendall(body[: len(body) // 2])
                print("half-sent", flush=True)
                time.sleep(2)
                s.sendall(body[len(body) // 2 :])
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk: break
                    data += chunk
                    if b"\\r\\n\\r\\n" in data and data.endswith(b"}}"): break
                print("RESPONSE", data.decode(errors="replace"))
                """,
                String(server.port), bodyFile.path,
            ], log: directory.appendingPathComponent("client.log"))
        defer { client.stop() }
        #expect(wait(timeout: 20) { client.log.contains("half-sent") }, "client log: \(client.log)")
        // "half-sent" means only that the kernel has the bytes: the connection may still wait in
        // the listen queue, which a stopping server closes unanswered. SIGTERM goes once the
        // server is answering the request, which /metrics counts beside the scrape itself.
        #expect(
            wait(timeout: 20) { ((try? server.metric("cloister_serve_requests_in_flight")) ?? 0) >= 2 },
            "the server never counted the held request in flight")
        kill(server.process.pid, SIGTERM)
        let started = Date()
        #expect(wait(timeout: 20) { !client.isRunning }, "the client never got its answer")
        #expect(client.log.contains("HTTP/1.1 200"), "client log: \(client.log)")
        #expect(client.log.contains("\"uid\":\"in-flight\""))
        #expect(wait(timeout: 15) { !server.process.isRunning }, "serve did not exit after SIGTERM")
        #expect(server.process.exitStatus == 0, "serve log:\n\(server.process.log)")
        #expect(Date().timeIntervalSince(started) < 15)
        // And the listener is closed.
        let after = try Shell.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/healthz"], check: false)
        #expect(after.stdout == "000")
    }

    @Test("bounds: a stalled request gets 503 at --request-timeout; beyond --max-concurrent-requests, 503 at once")
    func timeoutAndConcurrency() throws {
        let server = try ServeProcess.start(["--interval", "3600", "--request-timeout", "2", "--max-concurrent-requests", "1"])
        defer { server.process.stop() }
        let directory = try temporaryDirectory("serve-bounds")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Headers and a few bytes of a body that never comes: the one slot stays taken.
        let client = try BackgroundProcess(
            [
                "python3", "-u", "-c",
                """
                import socket, sys, time
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                s.sendall(b"POST /admission HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1000\\r\\n\\r\\n{")
                print("stalled", flush=True)
                started = time.time()
                data = s.recv(65536)
                print("ANSWER after %.1f s: %s" % (time.time() - started, data.decode(errors="replace")))
                """,
                String(server.port),
            ], log: directory.appendingPathComponent("client.log"))
        defer { client.stop() }
        #expect(wait(timeout: 20) { client.log.contains("stalled") }, "client log: \(client.log)")
        Thread.sleep(forTimeInterval: 0.3)
        let busy = try Shell.run(["curl", "-s", "-w", "\n%{http_code}", "\(server.url)/healthz"], check: false)
        #expect(busy.stdout.hasSuffix("\n503"), "\(busy.stdout)")
        #expect(busy.stdout.contains("--max-concurrent-requests"))
        #expect(wait(timeout: 20) { !client.isRunning }, "the stalled request was never answered")
        #expect(client.log.contains("HTTP/1.1 503"), "client log: \(client.log)")
        #expect(client.log.contains("--request-timeout"))
        // The slot is free again.
        let after = try Shell.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/healthz"], check: false)
        #expect(after.stdout == "200")
    }

    @Test(
        "serve keeps only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, on every thread, with no_new_privs",
        .enabled(if: Host.requires(Host.isRoot), "needs root (capabilities are dropped from root's)"))
    func leastPrivilege() throws {
        let server = try ServeProcess.start(["--interval", "3600"])
        defer { server.process.stop() }
        // CAP_DAC_READ_SEARCH is 2, CAP_SYS_PTRACE 19.
        let expected = String(format: "%016llx", (UInt64(1) << 2) | (UInt64(1) << 19))
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.pid)/task")
        #expect(!tasks.isEmpty)
        for task in tasks {
            let status = try String(contentsOfFile: "/proc/\(server.process.pid)/task/\(task)/status", encoding: .utf8)
            func field(_ name: String) -> String? {
                status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
            }
            #expect(field("CapEff") == expected, "thread \(task)")
            #expect(field("CapPrm") == expected, "thread \(task)")
            #expect(field("NoNewPrivs") == "1", "thread \(task)")
        }
    }

    /// Each thread's nice value (`/proc/PID/task/TID/stat`, field 19), by thread id.
    static func niceValues(of pid: Int32) throws -> [String: Int] {
        var values: [String: Int] = [:]
        for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After the command's closing parenthesis: field 3 (state) onwards; nice is field 19.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 16, let nice = Int(fields[16]) { values[task] = nice }
        }
        return values
    }

    @Test(
        "rescans run on one thread at --rescan-nice (default 10); every other thread, the request handlers', keeps nice 0",
        arguments: [(nil, 10), ("19", 19), ("0", 0)] as [(String?, Int)])
    func rescanThreadYields(flag: String?, expected: Int) throws {
        let server = try ServeProcess.start(["--interval", "3600"] + (flag.map { ["--rescan-nice", $0] } ?? []))
        defer { server.process.stop() }
        // The rescan thread lowers itself when it starts, before the first scan.
        var values: [String: Int] = [:]
        for _ in 0..<100 {
            values = try Self.niceValues(of: server.process.pid)
            if expected == 0 || values.values.contains(expected) { break }
            usleep(50_000)
        }
        #expect(values.count >= 3, "\(values)")
        if expected == 0 {
            #expect(values.values.allSatisfy { $0 == 0 }, "\(values)")
        } else {
            #expect(values.values.filter { $0 == expected }.count == 1, "\(values)")
            #expect(values.values.filter { $0 != expected }.allSatisfy { $0 == 0 }, "\(values)")
        }
        // And it answers while the first scan may still run.
        let judged = try server.post("/admission", body: Self.review(uid: "nice-1", object: Self.privilegedPod))
        #expect(judged.status == 200)
    }

    @Test(
        "--no-scan (the admission Deployment's mode) keeps no capability, serves no scan, and still judges",
        .enabled(if: Host.requires(Host.isRoot), "needs root (capabilities are dropped from root's)"))
    func admissionOnly() throws {
        let server = try ServeProcess.start(["--no-scan"])
        defer { server.process.stop() }
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.pid)/task")
        #expect(!tasks.isEmpty)
        for task in tasks {
            let status = try String(contentsOfFile: "/proc/\(server.process.pid)/task/\(task)/status", encoding: .utf8)
            let effective = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            #expect(effective?.hasSuffix("0000000000000000") == true, "thread \(task): \(effective ?? "")")
        }
        // No rescanner, so no thread lowered.
        #expect(try Self.niceValues(of: server.process.pid).values.allSatisfy { $0 == 0 })
        let scan = try Shell.run(["curl", "-s", "-w", "\n%{http_code}", "\(server.url)/scan"], check: false)
        #expect(scan.stdout.hasSuffix("\n404"), "\(scan.stdout)")
        #expect(scan.stdout.contains("--no-scan"))
        let judged = try server.post("/admission", body: Self.review(uid: "no-scan-1", object: Self.privilegedPod))
        #expect(judged.status == 200)
        #expect(judged.body.contains("\"allowed\":false"), "\(judged.body)")
    }

    @Test("a TLS key file that is not PEM: exit 2 naming the file")
    func badTLSFile() throws {
        let directory = try temporaryDirectory("serve-tls")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem")
        let key = directory.appendingPathComponent("key.pem")
        try Shell.run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
            "-keyout", key.path, "-out", certificate.path,
        ])
        let garbage = directory.appendingPathComponent("garbage.pem")
        try Data("not a key\n".utf8).write(to: garbage)
        let result = try Shell.run(
            [try Paths.cloisterExecutable().path, "serve", "--listen", "127.0.0.1:0", "--tls-cert", certificate.path,
             "--tls-key", garbage.path], timeout: 60, check: false)
        #expect(result.status == 2)
        #expect(result.stderr.contains(garbage.path), "\(result.stderr)")

        // And with a real key it serves HTTPS.
        let server = try ServeProcess.start(["--interval", "3600", "--tls-cert", certificate.path, "--tls-key", key.path])
        defer { server.process.stop() }
        #expect(server.url.hasPrefix("https://"))
        let health = try Shell.run(["curl", "-sk", "\(server.url)/healthz"], check: false)
        #expect(health.stdout.hasPrefix("ok"), "\(health.stdout) \(health.stderr)")
    }
}

/// `cloister serve --listen 127.0.0.1:0 …`, with the port it chose read from its log.
struct ServeProcess {
    var process: BackgroundProcess
    var port: Int
    var url: String

    static func start(_ arguments: [String]) throws -> ServeProcess {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-serve-\(UUID().uuidString).log")
        let process = try BackgroundProcess(
            [try Paths.cloisterExecutable().path, "serve", "--listen", "127.0.0.1:0"] + arguments, log: log)
        var url: String?
        wait(timeout: 60) {
            guard let line = process.log.split(separator: "\n").first(where: { $0.hasPrefix("cloister serve: listening on ") })
            else { return !process.isRunning }
            url = String(line.dropFirst("cloister serve: listening on ".count))
            return true
        }
        guard let url, let port = url.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.stop()
            throw HarnessError("cloister serve did not start listening; its log:\n\(process.log)")
        }
        return ServeProcess(process: process, port: port, url: url)
    }

    struct Answer {
        var status: Int
        var body: String
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    }

    /// One unlabelled sample from `/metrics`.
    func metric(_ name: String) throws -> Double? {
        let text = try Shell.run(["curl", "-s", "\(url)/metrics"], check: false).stdout
        return text.split(separator: "\n").lazy
            .compactMap { line -> Double? in
                let fields = line.split(separator: " ")
                return fields.count == 2 && fields[0] == name ? Double(fields[1]) : nil
            }
            .first
    }

    func post(_ path: String, body: String) throws -> Answer {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-serve-body-\(UUID().uuidString)")
        try Data(body.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Shell.run(
            ["curl", "-s", "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)", "-w", "\n%{http_code}",
             "\(url)\(path)"], check: false)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = lines.last.flatMap { Int($0) } ?? 0
        return Answer(status: status, body: lines.dropLast().joined(separator: "\n"))
    }
}

/// Debian's Prometheus, scraping one target every second, on a free loopback port.
struct PrometheusServer {
    var process: BackgroundProcess
    var port: Int
    var directory: URL

    static func start(scraping target: Int) throws -> PrometheusServer {
        let directory = try temporaryDirectory("prometheus")
        let config = directory.appendingPathComponent("prometheus.yml")
        try Data(
            """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: cloister
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]
            """.utf8
        ).write(to: config)
        let port = try freeLoopbackPort()
        let process = try BackgroundProcess(
            [
                "prometheus", "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)",
            ], log: directory.appendingPathComponent("prometheus.log"))
        return PrometheusServer(process: process, port: port, directory: directory)
    }

    /// The values of an instant query's result series (empty while there are none).
    func query(_ expression: String) throws -> [String] {
        let result = try Shell.run(
            ["curl", "-s", "--get", "--data-urlencode", "query=\(expression)", "http://127.0.0.1:\(port)/api/v1/query"],
            check: false)
        guard result.succeeded,
            let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            json["status"] as? String == "success",
            let series = (json["data"] as? [String: Any])?["result"] as? [[String: Any]]
        else { return [] }
        return series.compactMap { ($0["value"] as? [Any])?.last as? String }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

func temporaryDirectory(_ label: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-it-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// A port nothing listens on now: bound to port 0, read back, closed.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HarnessError("bind: \(String(cString: strerror(errno)))") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HarnessError("getsockname: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

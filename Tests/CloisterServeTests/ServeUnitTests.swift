import CloisterAdmission
import CloisterModel
import CloisterPlacement
import CloisterReport
import CloisterResourceFiles
import CloisterRules
import CloisterServe
import Foundation
import Synchronization
import Testing

/// The repository's shipped rules, weights and catalogue: the judge is tested with what ships.
enum Shipped {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func judge(
        failOn: Severity? = .high, runtimeClasses: [String: String] = AdmissionJudge.defaultRuntimeClasses,
        podSecurity: Bool = false, modes: PodSecurityModes = PodSecurityModes(), namespaceLabels: Bool = false
    ) throws -> AdmissionJudge {
        AdmissionJudge(
            pack: try RulePack.load(directory: root.appendingPathComponent("rules").path, includeCases: false),
            policy: try ExposurePolicy.load(path: root.appendingPathComponent("policies/exposure.yaml").path),
            catalogue: try Catalogue.load(directory: root.appendingPathComponent("policies")),
            failOn: failOn, runtimeClasses: runtimeClasses,
            podSecurity: podSecurity
                ? try PodSecurityStandards.load(path: root.appendingPathComponent("rules/" + PodSecurityStandards.relativePath).path) : nil,
            podSecurityModes: modes, namespaceLabels: namespaceLabels)
    }
}

enum Reviews {
    static func review(uid: String = "705ab4f5-6393-11e8-b7cc-42010a800002", object: String) -> [UInt8] {
        Array(
            """
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\(uid)",
            "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop",
            "object":\(object)}}
            """.utf8)
    }

    static let privilegedPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"root-shell"},"spec":{"hostPID":true,
        "containers":[{"name":"shell","image":"busybox","securityContext":{"privileged":true}}]}}
        """

    static let hardenedPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"hostUsers":false,
        "automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":10001,
        "runAsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"web",
        "image":"example.org/web:1","securityContext":{"allowPrivilegeEscalation":false,
        "readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]},"appArmorProfile":{"type":"RuntimeDefault"}},
        "resources":{"limits":{"cpu":"500m","memory":"256Mi"}}}]}}
        """

    static func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }
}

@Suite("AdmissionReview parsing")
struct AdmissionParsingTests {
    @Test("a v1 review yields its uid, operation, namespace and object")
    func parses() throws {
        let request = try AdmissionReview.parse(Reviews.review(uid: "abc-1", object: Reviews.hardenedPod))
        #expect(request.uid == "abc-1")
        #expect(request.operation == "CREATE")
        #expect(request.namespace == "shop")
        #expect(request.objectKind == "Pod")
    }

    @Test(
        "malformed bodies are errors that say what is wrong",
        arguments: [
            ("", "not valid JSON"),
            ("[1,2]", "must be a JSON object"),
            ("{\"kind\":\"Pod\"}", "not an AdmissionReview"),
            ("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1beta1\"}", "answers admission.k8s.io/v1 only"),
            ("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\"}", "no request"),
            ("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":7}}", "request.uid"),
            ("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"}}", "request.object is missing"),
            ("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"u\",\"object\":[]}}", "must be a JSON object"),
            ("{\"kind\":\"AdmissionReview\",", "not valid JSON at line 1"),
        ])
    func rejects(body: String, expected: String) {
        #expect {
            _ = try AdmissionReview.parse(Array(body.utf8))
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("invalid UTF-8 is refused, not decoded with replacements")
    func invalidUTF8() {
        var body = Reviews.review(object: Reviews.hardenedPod)
        body.insert(0xFF, at: 40)
        #expect(throws: AdmissionBodyError.self) { try AdmissionReview.parse(body) }
    }
}

@Suite("admission decisions with the shipped rules")
struct AdmissionJudgeTests {
    @Test("a privileged pod with the host's PID namespace is denied, and the message names the rule")
    func deniesPrivileged() throws {
        let judge = try Shipped.judge()
        let decision = judge.review(try AdmissionReview.parse(Reviews.review(uid: "u-1", object: Reviews.privilegedPod)), mutate: false)
        #expect(!decision.allowed)
        #expect(decision.code == 403)
        let message = try #require(decision.message)
        #expect(message.contains("ct-privileged"))
        #expect(message.contains("Pod shop/root-shell"))
        #expect(message.count <= AdmissionJudge.defaultMessageLimit)
        let response = try Reviews.decode(decision.responseJSON())
        let body = try #require(response["response"] as? [String: Any])
        #expect(body["uid"] as? String == "u-1")
        #expect(body["allowed"] as? Bool == false)
        #expect(response["apiVersion"] as? String == "admission.k8s.io/v1")
    }

    @Test("the namespace's pod-security.kubernetes.io labels set the levels when --namespace-labels is on")
    func namespaceLabels() throws {
        let pod = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}
            """
        func review(labels: String) throws -> AdmissionRequest {
            let body = """
                {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
                "namespace":"team","namespaceObject":{"metadata":{"name":"team","labels":{\(labels)}}},"object":\(pod)}}
                """
            return try AdmissionReview.parse(Array(body.utf8))
        }
        let restricted = try review(labels: "\"pod-security.kubernetes.io/enforce\":\"restricted\",\"pod-security.kubernetes.io/enforce-version\":\"v1.24\"")
        #expect(restricted.namespaceLabels["pod-security.kubernetes.io/enforce"] == "restricted")
        let honouring = try Shipped.judge(failOn: nil, podSecurity: true, namespaceLabels: true)
        let denied = honouring.review(restricted, mutate: false)
        #expect(!denied.allowed)
        #expect(denied.message?.contains("violates PodSecurity \"restricted:v1.24\"") == true, "\(denied.message ?? "")")
        // Off by default: the flags' levels hold (baseline enforced), and the pod meets baseline.
        let ignoring = try Shipped.judge(failOn: nil, podSecurity: true)
        #expect(ignoring.review(restricted, mutate: false).allowed)
        // A privileged label lets anything in; a malformed one changes nothing.
        let privileged = try review(labels: "\"pod-security.kubernetes.io/enforce\":\"privileged\"")
        let hostPID = try AdmissionReview.parse(Reviews.review(object: Reviews.privilegedPod))
        #expect(!honouring.review(hostPID, mutate: false).allowed)
        #expect(honouring.review(privileged, mutate: false).allowed)
        var modes = PodSecurityModes()
        modes.apply(labels: ["pod-security.kubernetes.io/warn": "strict", "pod-security.kubernetes.io/audit": "baseline"])
        #expect(modes.warn == PodSecurityPolicy(level: .restricted))
        #expect(modes.audit == PodSecurityPolicy(level: .baseline))
    }

    @Test("a hardened pod is allowed")
    func allowsHardened() throws {
        let decision = try Shipped.judge().review(try AdmissionReview.parse(Reviews.review(object: Reviews.hardenedPod)), mutate: false)
        #expect(decision.allowed, "\(decision.message ?? "")")
        #expect(decision.patch == nil)
    }

    @Test("--fail-on critical lets a pod whose worst finding is high through")
    func failOnThreshold() throws {
        let pod = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"hostNetwork":true,
            "containers":[{"name":"c","image":"i"}]}}
            """
        let request = try AdmissionReview.parse(Reviews.review(object: pod))
        let strict = try Shipped.judge(failOn: .medium).review(request, mutate: false)
        let decision = try Shipped.judge(failOn: .critical).review(request, mutate: false)
        #expect(!strict.allowed)
        #expect(decision.findings.allSatisfy { $0.severity < .critical })
        #expect(decision.allowed)
    }

    @Test(
        "the patch path follows the kind",
        arguments: [
            ("Pod", "/spec/runtimeClassName"), ("Deployment", "/spec/template/spec/runtimeClassName"),
            ("Job", "/spec/template/spec/runtimeClassName"),
            ("CronJob", "/spec/jobTemplate/spec/template/spec/runtimeClassName"),
        ])
    func patchPath(kind: String, path: String) throws {
        let patch = AdmissionJudge.runtimeClassPatch(kind: kind, runtimeClass: "gvisor")
        let operations = try #require(try JSONSerialization.jsonObject(with: Data(patch)) as? [[String: String]])
        #expect(operations == [["op": "add", "path": path, "value": "gvisor"]])
    }

    @Test("/mutate sets the RuntimeClass mapped to advise's choice")
    func mutateFollowsAdvice() throws {
        // Map every option, so whatever advise chooses has a RuntimeClass.
        let catalogue = try Catalogue.load(directory: Shipped.root.appendingPathComponent("policies"))
        let classes = Dictionary(uniqueKeysWithValues: catalogue.options.map { ($0.id, "rc-\($0.id)") })
        let judge = try Shipped.judge(runtimeClasses: classes)
        let decision = judge.review(try AdmissionReview.parse(Reviews.review(object: Reviews.hardenedPod)), mutate: true)
        let option = try #require(decision.recommendation?.option)
        let patch = try #require(decision.patch)
        let operations = try #require(try JSONSerialization.jsonObject(with: Data(patch)) as? [[String: String]])
        #expect(operations.first?["value"] == "rc-\(option)")
        let response = try Reviews.decode(decision.responseJSON())
        let body = try #require(response["response"] as? [String: Any])
        #expect(body["patchType"] as? String == "JSONPatch")
        let encoded = try #require(body["patch"] as? String)
        #expect(Data(base64Encoded: encoded) == Data(patch))
    }

    @Test("hostile names stay inside one JSON string")
    func hostileName() throws {
        let pod = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"x\\"\\n\\u001b[31m\\u0000"},"spec":{"hostPID":true,
            "containers":[{"name":"c","image":"i","securityContext":{"privileged":true}}]}}
            """
        let decision = try Shipped.judge().review(try AdmissionReview.parse(Reviews.review(object: pod)), mutate: false)
        let text = String(decoding: decision.responseJSON(), as: UTF8.self)
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("\u{0}"))
        _ = try Reviews.decode(decision.responseJSON())
    }
}

@Suite("Prometheus exposition")
struct PrometheusTests {
    @Test("label values escape backslash, quote and newline; other controls become U+FFFD")
    func escaping() {
        #expect(PrometheusRenderer.escapeLabel("a\\b\"c\nd") == "a\\\\b\\\"c\\nd")
        #expect(PrometheusRenderer.escapeLabel("\u{1B}[31m\r") == "\u{FFFD}[31m\u{FFFD}")
        #expect(PrometheusRenderer.escapeLabel("naïve ✓") == "naïve ✓")
    }

    @Test("a hostile workload yields one well-formed sample line per series")
    func hostileWorkload() {
        let invalid = String(decoding: [0x77, 0xFF, 0xFE, 0x78] as [UInt8], as: UTF8.self)
        var posture = Posture(id: "podman:abc", kind: .container, runtime: "podman", name: "evil\"\n} 1\nfake_metric{\\" + invalid)
        posture.exposure = Exposure(score: 7.5, level: "high")
        let report = ScanReport(
            scannedAt: "2026-01-01T00:00:00Z", host: HostFacts(), workloads: [posture],
            findings: [Finding(rule: "ct-privileged", severity: .critical, workload: "podman:abc", message: "m")])
        let text = PrometheusRenderer.render(report, statistics: .init(scans: 3, errors: 1, lastDuration: 0.25, lastCompletion: 1e9))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        // Every line is a comment or `name{labels} value` / `name value`: no injected metric.
        for line in lines.dropLast() where !line.hasPrefix("#") {
            #expect(line.hasPrefix("cloister_"), "\(line)")
            #expect(!line.hasPrefix("fake_metric"))
        }
        #expect(!text.contains("\nfake_metric"))
        #expect(text.contains("cloister_workload_exposure_score{runtime=\"podman\",kind=\"container\",name=\"evil\\\"\\n} 1\\nfake_metric{\\\\w\u{FFFD}\u{FFFD}x\",id=\"podman:abc\"} 7.5\n"))
        #expect(text.contains("cloister_findings{rule=\"ct-privileged\",severity=\"critical\"} 1\n"))
        #expect(text.contains("cloister_scan_errors_total 1\n"))
        #expect(text.contains("cloister_scans_total 3\n"))
    }
}

@Suite("serve routes")
struct ServeRouteTests {
    func handler(mutate: Bool = false) throws -> ServeHandler {
        ServeHandler(judge: try Shipped.judge(), mutate: mutate, state: ServeState())
    }

    @Test("unknown paths are 404, wrong methods 405 with Allow")
    func routing() throws {
        let handler = try handler()
        #expect(handler.respond(method: "GET", path: "/nope", body: []).status == 404)
        let wrong = handler.respond(method: "GET", path: "/admission", body: [])
        #expect(wrong.status == 405)
        #expect(wrong.headers.contains { $0.name == "Allow" && $0.value == "POST" })
        #expect(handler.respond(method: "POST", path: "/metrics", body: []).status == 405)
    }

    @Test("/mutate is 404 unless --mutate; /scan is 503 before the first scan")
    func offByDefault() throws {
        let handler = try handler()
        #expect(handler.respond(method: "POST", path: "/mutate", body: Reviews.review(object: Reviews.hardenedPod)).status == 404)
        #expect(handler.respond(method: "GET", path: "/scan", body: []).status == 503)
        #expect(handler.respond(method: "GET", path: "/healthz", body: []).status == 200)
    }

    @Test("--no-scan: /metrics and /scan are 404 saying why, admission still judges, /healthz says admission only")
    func admissionOnly() throws {
        let handler = ServeHandler(judge: try Shipped.judge(), mutate: false, state: ServeState(), scanning: false)
        for path in ["/metrics", "/scan"] {
            let off = handler.respond(method: "GET", path: path, body: [])
            #expect(off.status == 404, "\(path)")
            #expect(off.text.contains("--no-scan"), "\(path): \(off.text)")
        }
        #expect(handler.respond(method: "GET", path: "/healthz", body: []).text.contains("admission only"))
        let judged = handler.respond(method: "POST", path: "/admission", body: Reviews.review(object: Reviews.privilegedPod))
        #expect(judged.status == 200)
        #expect(judged.text.contains("\"allowed\":false"))
        // And the scanning server still serves /metrics (each `where` guards its own pattern).
        #expect(try self.handler().respond(method: "GET", path: "/metrics", body: []).status == 200)
    }

    @Test("a bad body is a 400 with the reason; a good one a 200 AdmissionReview")
    func admission() throws {
        let handler = try handler()
        let bad = handler.respond(method: "POST", path: "/validate", body: Array("{nope".utf8))
        #expect(bad.status == 400)
        #expect(bad.text.contains("not valid JSON"))
        let good = handler.respond(method: "POST", path: "/admission?timeout=10s", body: Reviews.review(object: Reviews.privilegedPod))
        #expect(good.status == 200)
        #expect(good.contentType == "application/json")
        #expect(good.text.contains("\"allowed\":false"))
    }

    @Test("a recorded scan is served as metrics and JSON")
    func recorded() throws {
        let handler = try handler()
        var posture = Posture(id: "runc:x", kind: .container, runtime: "runc", name: "x")
        posture.exposure = Exposure(score: 2.5, level: "low")
        handler.state.record(
            ScanReport(scannedAt: "2026-01-01T00:00:00Z", host: HostFacts(), workloads: [posture]), duration: 0.5,
            finishedAt: 1_700_000_000)
        let metrics = handler.respond(method: "GET", path: "/metrics", body: [])
        #expect(metrics.text.contains("cloister_workload_exposure_score{runtime=\"runc\",kind=\"container\",name=\"x\",id=\"runc:x\"} 2.5"))
        #expect(metrics.text.contains("cloister_scan_duration_seconds 0.5"))
        let scan = handler.respond(method: "GET", path: "/scan", body: [])
        #expect(scan.status == 200)
        let decoded = try JSONDecoder().decode(ScanReport.self, from: Data(scan.body))
        #expect(decoded.workloads.map(\.id) == ["runc:x"])
        // No server, no live gauge: what is served is the scan's rendering alone.
        #expect(!metrics.text.contains("cloister_serve_requests_in_flight"))
    }

    @Test("/metrics ends with the live count of requests in flight, read at each scrape")
    func requestsInFlight() throws {
        let count = Mutex(1)
        var handler = try handler()
        handler.requestsInFlight = { count.withLock { $0 } }
        let first = handler.respond(method: "GET", path: "/metrics", body: []).text
        #expect(first.hasSuffix(
            "# TYPE cloister_serve_requests_in_flight gauge\ncloister_serve_requests_in_flight 1\n"), "\(first)")
        #expect(first.components(separatedBy: "# TYPE cloister_serve_requests_in_flight ").count == 2)
        count.withLock { $0 = 3 }
        #expect(handler.respond(method: "GET", path: "/metrics", body: []).text.hasSuffix("cloister_serve_requests_in_flight 3\n"))
    }
}

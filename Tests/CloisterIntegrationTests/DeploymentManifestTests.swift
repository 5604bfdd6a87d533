import Foundation
import Testing
import Yams

/// deploy/: the Kubernetes manifests validate against the API's schemas (kubernetes-validate
/// --strict), hold the security properties their comments claim, pass cloister's own check
/// with their baseline; the Containerfile copies what exists, installs the -dev packages the
/// build needs and the runtime libraries the binary links, and puts the rules where the
/// binary looks for them. The image itself is not built here (no registry to pull from).
@Suite("Deployment files")
struct DeploymentManifestTests {
    static var deploy: URL { Paths.repositoryRoot.appendingPathComponent("deploy") }
    static var kubernetes: URL { deploy.appendingPathComponent("kubernetes") }
    static var baseline: URL { kubernetes.appendingPathComponent("cloister.baseline.yaml") }

    /// Every Kubernetes manifest in deploy/kubernetes (the baseline is cloister's, not Kubernetes').
    static func manifests() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: kubernetes, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" && $0.lastPathComponent != baseline.lastPathComponent }
            .sorted { $0.path < $1.path }
    }

    typealias Object = [String: Any]

    static func documents() throws -> [Object] {
        var documents: [Object] = []
        for file in try manifests() {
            let text = try String(contentsOf: file, encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                guard let object = document as? Object else { continue }
                documents.append(object)
            }
        }
        return documents
    }

    static func document(kind: String, name: String) throws -> Object {
        try #require(try documents().first {
            $0["kind"] as? String == kind && ($0["metadata"] as? Object)?["name"] as? String == name
        })
    }

    /// The pod spec of a Pod or of a controller's template.
    static func podSpec(_ document: Object) -> Object? {
        if document["kind"] as? String == "Pod" { return document["spec"] as? Object }
        var spec = document["spec"] as? Object
        if document["kind"] as? String == "CronJob" { spec = (spec?["jobTemplate"] as? Object)?["spec"] as? Object }
        return (spec?["template"] as? Object)?["spec"] as? Object
    }

    static func containers(_ spec: Object) -> [Object] {
        (spec["containers"] as? [Object] ?? []) + (spec["initContainers"] as? [Object] ?? [])
    }

    /// `--listen=HOST:PORT` (or `--listen HOST:PORT`) from a container's arguments.
    static func listen(_ container: Object) -> (host: String, port: Int)? {
        let arguments = (container["command"] as? [String] ?? []) + (container["args"] as? [String] ?? [])
        var value: String?
        for (index, argument) in arguments.enumerated() {
            if argument.hasPrefix("--listen=") { value = String(argument.dropFirst("--listen=".count)) }
            if argument == "--listen", index + 1 < arguments.count { value = arguments[index + 1] }
        }
        guard let value, let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]) else {
            return nil
        }
        return (String(value[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    static func containerPort(_ container: Object, _ reference: Any?) -> Int? {
        let ports = container["ports"] as? [Object] ?? []
        if let number = reference as? Int { return ports.contains { $0["containerPort"] as? Int == number } ? number : nil }
        guard let name = reference as? String else { return nil }
        return ports.first { $0["name"] as? String == name }?["containerPort"] as? Int
    }

    // MARK: Schemas

    @Test("every manifest validates with kubernetes-validate --strict",
          .enabled(if: Host.requires(Shell.has("kubernetes-validate")), "needs kubernetes-validate (pip; scripts/install-deps.sh)"))
    func validates() throws {
        let files = try Self.manifests()
        #expect(Set(files.map(\.lastPathComponent)).isSuperset(of: ["daemonset.yaml", "admission.yaml"]))
        for file in files {
            let result = try Shell.run(["kubernetes-validate", "--strict", file.path], check: false)
            #expect(result.status == 0, "\(file.lastPathComponent): \(result.stdout)\(result.stderr)")
            #expect(!result.stdout.contains("ERROR"))
        }
    }

    // MARK: Security properties

    @Test("hostPID only in the scanner DaemonSet; no host network or IPC anywhere")
    func hostNamespaces() throws {
        var pods = 0
        for document in try Self.documents() {
            guard let spec = Self.podSpec(document) else { continue }
            pods += 1
            let isScanner = document["kind"] as? String == "DaemonSet"
                && (document["metadata"] as? Object)?["name"] as? String == "cloister-scanner"
            #expect((spec["hostPID"] as? Bool ?? false) == isScanner, "\(document["kind"] ?? "") hostPID")
            #expect(spec["hostNetwork"] as? Bool != true)
            #expect(spec["hostIPC"] as? Bool != true)
            #expect(spec["automountServiceAccountToken"] as? Bool == false, "neither component calls the API")
        }
        #expect(pods == 2)
    }

    @Test("containers drop every capability; the scanner adds exactly SYS_PTRACE and DAC_READ_SEARCH")
    func capabilitiesAndHardening() throws {
        for document in try Self.documents() {
            guard let spec = Self.podSpec(document) else { continue }
            let isScanner = document["kind"] as? String == "DaemonSet"
            let podSecurity = spec["securityContext"] as? Object ?? [:]
            for container in Self.containers(spec) {
                let context = try #require(container["securityContext"] as? Object)
                let capabilities = try #require(context["capabilities"] as? Object)
                #expect(capabilities["drop"] as? [String] == ["ALL"])
                let added = Set(capabilities["add"] as? [String] ?? [])
                #expect(added == (isScanner ? ["SYS_PTRACE", "DAC_READ_SEARCH"] : []))
                #expect(context["readOnlyRootFilesystem"] as? Bool == true)
                #expect(context["allowPrivilegeEscalation"] as? Bool == false)
                #expect(context["privileged"] as? Bool != true)
                let seccomp = (context["seccompProfile"] as? Object) ?? (podSecurity["seccompProfile"] as? Object)
                #expect(seccomp?["type"] as? String == "RuntimeDefault")
                if isScanner {
                    #expect(context["runAsUser"] as? Int == 0)
                } else {
                    #expect((context["runAsNonRoot"] as? Bool ?? podSecurity["runAsNonRoot"] as? Bool) == true)
                    #expect(((context["runAsUser"] as? Int) ?? (podSecurity["runAsUser"] as? Int) ?? 0) != 0)
                }
                let limits = (container["resources"] as? Object)?["limits"] as? Object
                #expect(limits?["cpu"] != nil && limits?["memory"] != nil)
            }
        }
    }

    @Test("host paths are the scanner's /sys and /run only, mounted read-only")
    func hostPaths() throws {
        for document in try Self.documents() {
            guard let spec = Self.podSpec(document) else { continue }
            let hostVolumes = (spec["volumes"] as? [Object] ?? []).filter { $0["hostPath"] != nil }
            if document["kind"] as? String != "DaemonSet" {
                #expect(hostVolumes.isEmpty)
                continue
            }
            let paths = Set(hostVolumes.compactMap { ($0["hostPath"] as? Object)?["path"] as? String })
            #expect(paths == ["/sys", "/run"])
            let names = Set(hostVolumes.compactMap { $0["name"] as? String })
            for container in Self.containers(spec) {
                for mount in container["volumeMounts"] as? [Object] ?? [] where names.contains(mount["name"] as? String ?? "") {
                    #expect(mount["readOnly"] as? Bool == true, "\(mount)")
                }
            }
        }
    }

    @Test("listen addresses, ports, probes, Service and webhooks agree")
    func addressesAgree() throws {
        // The scanner: reached by Prometheus at the pod address on the metrics port.
        let daemonSet = try Self.document(kind: "DaemonSet", name: "cloister-scanner")
        let scannerSpec = try #require(Self.podSpec(daemonSet))
        let scanner = try #require(Self.containers(scannerSpec).first)
        let scannerListen = try #require(Self.listen(scanner))
        #expect(!["127.0.0.1", "localhost", "::1"].contains(scannerListen.host), "Prometheus cannot reach a loopback address")
        #expect(Self.containerPort(scanner, "metrics") == scannerListen.port)
        let annotations = ((daemonSet["spec"] as? Object)?["template"] as? Object)?["metadata"] as? Object
        #expect(((annotations?["annotations"] as? Object)?["prometheus.io/port"] as? String) == String(scannerListen.port))
        for probe in ["livenessProbe", "readinessProbe"] {
            let http = try #require((scanner[probe] as? Object)?["httpGet"] as? Object)
            #expect(http["path"] as? String == "/healthz")
            #expect(Self.containerPort(scanner, http["port"]) == scannerListen.port)
        }

        // The webhook: the Service forwards to the listen port; TLS files come from the Secret.
        let deployment = try Self.document(kind: "Deployment", name: "cloister-admission")
        let spec = try #require(Self.podSpec(deployment))
        let webhook = try #require(Self.containers(spec).first)
        let webhookListen = try #require(Self.listen(webhook))
        #expect(!["127.0.0.1", "localhost", "::1"].contains(webhookListen.host), "the Service cannot reach a loopback address")
        let service = try Self.document(kind: "Service", name: "cloister-admission")
        let servicePort = try #require(((service["spec"] as? Object)?["ports"] as? [Object])?.first)
        #expect(Self.containerPort(webhook, servicePort["targetPort"]) == webhookListen.port)
        let serviceSelector = (service["spec"] as? Object)?["selector"] as? [String: String]
        let podLabels = (((deployment["spec"] as? Object)?["template"] as? Object)?["metadata"] as? Object)?["labels"] as? [String: String]
        #expect(serviceSelector != nil && serviceSelector?.allSatisfy { podLabels?[$0.key] == $0.value } == true)
        for probe in ["livenessProbe", "readinessProbe"] {
            let http = try #require((webhook[probe] as? Object)?["httpGet"] as? Object)
            #expect(http["path"] as? String == "/healthz")
            #expect(http["scheme"] as? String == "HTTPS")
            #expect(Self.containerPort(webhook, http["port"]) == webhookListen.port)
        }
        let arguments = webhook["args"] as? [String] ?? []
        let secretVolume = try #require((spec["volumes"] as? [Object])?.first { $0["secret"] != nil })
        let mount = try #require((webhook["volumeMounts"] as? [Object])?.first { $0["name"] as? String == secretVolume["name"] as? String })
        let mountPath = try #require(mount["mountPath"] as? String)
        #expect(arguments.contains("--tls-cert=\(mountPath)/tls.crt"))
        #expect(arguments.contains("--tls-key=\(mountPath)/tls.key"))
        #expect(arguments.contains("--mutate"), "a MutatingWebhookConfiguration calls /mutate")

        let serviceName = (service["metadata"] as? Object)?["name"] as? String
        let serviceNamespace = (service["metadata"] as? Object)?["namespace"] as? String
        for (kind, path, policy) in [
            ("ValidatingWebhookConfiguration", "/admission", "Fail"), ("MutatingWebhookConfiguration", "/mutate", "Ignore"),
        ] {
            let configuration = try Self.document(kind: kind, name: "cloister")
            let webhooks = try #require(configuration["webhooks"] as? [Object])
            #expect(!webhooks.isEmpty)
            for hook in webhooks {
                let target = try #require((hook["clientConfig"] as? Object)?["service"] as? Object)
                #expect(target["name"] as? String == serviceName && target["namespace"] as? String == serviceNamespace)
                #expect(target["port"] as? Int == servicePort["port"] as? Int)
                #expect(target["path"] as? String == path)
                #expect(hook["failurePolicy"] as? String == policy)
                #expect(hook["sideEffects"] as? String == "None")
                #expect(hook["admissionReviewVersions"] as? [String] == ["v1"])
                #expect((hook["timeoutSeconds"] as? Int ?? 10) <= 5)
                let expressions = ((hook["namespaceSelector"] as? Object)?["matchExpressions"] as? [Object]) ?? []
                let excluded = expressions.filter { $0["operator"] as? String == "NotIn" && $0["key"] as? String == "kubernetes.io/metadata.name" }
                    .flatMap { $0["values"] as? [String] ?? [] }
                #expect(Set(excluded).isSuperset(of: ["kube-system", serviceNamespace ?? "cloister"]))
                let resources = (hook["rules"] as? [Object] ?? []).flatMap { $0["resources"] as? [String] ?? [] }
                #expect(resources.contains("pods"))
                if kind.hasPrefix("Validating") {
                    #expect(Set(resources).isSuperset(of: ["deployments", "daemonsets", "statefulsets", "jobs", "cronjobs"]))
                }
            }
        }
    }

    // MARK: cloister's own check

    @Test("cloister check reports the scanner's deliberate choices; the baseline accepts exactly them")
    func checkWithBaseline() throws {
        let files = try Self.manifests().map(\.path)
        let plain = try Cloister.check(files, extra: ["--fail-on", "high"])
        #expect(plain.status == 1, "the DaemonSet's host PID namespace is high: without the baseline the gate fails")
        let rules = Set(plain.report.findings.map(\.rule))
        #expect(rules.contains("ct-host-pid") && rules.contains("ct-cap-added"))
        #expect(!plain.report.findings.contains { $0.rule == "ct-host-pid" && !$0.workload.contains("DaemonSet") })

        let accepted = try Cloister.check(files, extra: ["--baseline", Self.baseline.path, "--fail-on", "info"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.report.findings.count == plain.report.findings.count)
        #expect(accepted.report.findings.allSatisfy { $0.accepted != nil }, "\(accepted.report.findings.filter { $0.accepted == nil })")

        // No acceptance is stale: each names a rule that fires.
        let baseline = try #require(try Yams.load(yaml: String(contentsOf: Self.baseline, encoding: .utf8)) as? Object)
        let entries = try #require(baseline["accepted"] as? [Object])
        for entry in entries {
            let rule = try #require(entry["rule"] as? String)
            #expect(rules.contains(rule), "baseline accepts \(rule), which no longer fires")
            #expect((entry["workload"] as? String).map { $0 != "*" } == true, "acceptances name their workloads")
        }
    }

    // MARK: Containerfile

    struct Containerfile {
        var stages: [[String]] = []

        init() throws {
            let text = try String(contentsOf: DeploymentManifestTests.deploy.appendingPathComponent("Containerfile"), encoding: .utf8)
            var instruction = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if instruction.isEmpty && (trimmed.isEmpty || trimmed.hasPrefix("#")) { continue }
                if trimmed.hasSuffix("\\") {
                    instruction += trimmed.dropLast() + " "
                    continue
                }
                instruction += trimmed
                if instruction.hasPrefix("FROM ") { stages.append([]) }
                if !stages.isEmpty { stages[stages.count - 1].append(instruction) }
                instruction = ""
            }
        }

        /// Packages `apt-get install` names in a stage.
        func aptPackages(stage: Int) -> [String] {
            stages[stage].filter { $0.hasPrefix("RUN ") && $0.contains("apt-get install") }.flatMap { run in
                run.components(separatedBy: "apt-get install").dropFirst().flatMap { part in
                    (part.components(separatedBy: "&&").first ?? "").split(separator: " ").map(String.init)
                        .filter { !$0.hasPrefix("-") && !$0.isEmpty }
                }
            }
        }

        /// (source, destination) of each COPY from the build context (not `--from=`).
        func contextCopies() -> [(String, String)] {
            stages.flatMap { $0 }.filter { $0.hasPrefix("COPY ") && !$0.contains("--from=") }.compactMap { copy in
                let words = copy.split(separator: " ").map(String.init).dropFirst().filter { !$0.hasPrefix("--") }
                guard words.count == 2 else { return nil }
                return (words[0], words[1])
            }
        }
    }

    /// What the image installs in /usr/local/bin: the front and the two it execs.
    static let executables = ["cloister", "cloister-full", "cloister-serve"]

    /// The built executables, from the directory of the one the tests run.
    static func builtExecutables() throws -> [URL] {
        let directory = try Paths.cloisterExecutable().resolvingSymlinksInPath().deletingLastPathComponent()
        return executables.map { directory.appendingPathComponent($0) }
    }

    @Test("the Containerfile builds from source as the package needs and copies what exists")
    func containerfile() throws {
        let file = try Containerfile()
        #expect(file.stages.count == 2)
        #expect(file.stages[0].first?.contains("swift:6") == true, "\(file.stages[0].first ?? "")")
        #expect(file.stages[1].first == "FROM docker.io/library/debian:12-slim")
        // The build installs the -dev package of every .systemLibrary target (Package.swift's apt providers).
        let package = try String(contentsOf: Paths.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let providers = package.matches(of: #/apt: "([a-z0-9.+-]+)"/#).map { String($0.1) }
        #expect(providers.count == 4)
        #expect(Set(file.aptPackages(stage: 0)).isSuperset(of: providers), "\(file.aptPackages(stage: 0))")
        #expect(file.stages[0].contains { $0.hasPrefix("RUN swift build -c release --static-swift-stdlib") })
        // Every path copied from the context exists; rules and policies land where the binary looks.
        let copies = file.contextCopies()
        #expect(!copies.isEmpty)
        for (source, _) in copies {
            #expect(FileManager.default.fileExists(atPath: Paths.repositoryRoot.appendingPathComponent(source).path), "COPY \(source)")
        }
        #expect(copies.contains { $0 == ("rules", "/usr/local/share/cloister/rules") })
        #expect(copies.contains { $0 == ("policies", "/usr/local/share/cloister/policies") })
        // The three executables `cloister` needs beside it (the front execs the other two).
        let build = file.stages[0].joined(separator: "\n")
        for tool in Self.executables {
            #expect(build.contains(tool), "the build stage installs \(tool)")
        }
        #expect(!build.contains("--product"), "every executable is built")
        #expect(file.stages[1].contains { $0.hasPrefix("COPY --from=build /out/usr/local/bin/ /usr/local/bin/") })
        // Completions for bash, zsh and fish and the man page, generated by the argument parser, installed.
        for shell in ["bash", "zsh", "fish"] {
            #expect(build.contains("--generate-completion-script \(shell) > /out/usr/local/share/"), "\(shell) completion")
        }
        #expect(build.contains("plugin generate-manual") && build.contains("/out/usr/local/share/man/man1/cloister.1"))
        #expect(file.stages[1].contains { $0.hasPrefix("COPY --from=build /out/usr/local/share/ /usr/local/share/") })
        #expect(file.stages[1].contains { $0.hasPrefix("USER ") && !$0.hasPrefix("USER 0") && !$0.hasPrefix("USER root") })
    }

    @Test("the build stage's context, as the Containerfile copies it, is a package SwiftPM loads",
          .enabled(if: Host.requires(Shell.has("swift")), "needs swift on PATH"))
    func buildContextLoads() throws {
        let scratch = try ScratchDirectory("image-context")
        defer { scratch.remove() }
        let file = try Containerfile()
        let copies = file.stages[0].filter { $0.hasPrefix("COPY ") && !$0.contains("--from=") }
        #expect(!copies.isEmpty)
        for (source, destination) in file.contextCopies() where copies.contains(where: { $0.contains(" \(source) ") }) {
            // The build stage's WORKDIR is the context's root: `./X` lands at X.
            let target = destination == "./" ? source : String(destination.drop { $0 == "." || $0 == "/" })
            try Shell.run(["cp", "-R", Paths.repositoryRoot.appendingPathComponent(source).path,
                           scratch.url.appendingPathComponent(target).path])
        }
        let described = try Shell.run(
            ["swift", "package", "--package-path", scratch.url.path, "describe", "--type", "json"], timeout: 600, check: false)
        #expect(described.status == 0, "\(described.stderr)")
        #expect(described.stdout.contains("\"cloister\""))
    }

    @Test("the runtime stage's packages hold every shared library the binary links beyond Swift's own",
          .enabled(if: Host.requires(Shell.has("ldd") && Shell.has("dpkg") && Shell.has("apt-cache")), "needs ldd, dpkg and apt-cache"))
    func runtimeLibraries() throws {
        let runtime = try Containerfile().aptPackages(stage: 1)
        #expect(!runtime.isEmpty)
        // The packages the runtime stage installs, with what they pull in.
        let closure = try Shell.run(
            ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
             "--no-replaces", "--no-enhances", "--no-pre-depends"] + runtime)
        let available = Set(closure.stdout.split(separator: "\n")
            .map { $0.trimmingCharacters(in: CharacterSet.whitespaces.union(CharacterSet(charactersIn: "|"))) }
            .map { $0.hasPrefix("Depends: ") ? String($0.dropFirst("Depends: ".count)) : $0 }
            .filter { !$0.isEmpty && !$0.contains(" ") && !$0.hasPrefix("<") })
        // The binary built here: Swift's runtime (in the toolchain) is linked statically in the
        // image; every other library must come from a Debian package the runtime stage has.
        var checked = 0
        for binary in try Self.builtExecutables().map(\.path) {
            let ldd = try Shell.run(["ldd", binary], check: false)
            if binary.hasSuffix("/cloister") {
                // The front is linked -static-executable: nothing to load.
                #expect(ldd.status != 0 && (ldd.stdout + ldd.stderr).contains("not a dynamic executable"), "\(ldd.stdout)")
                continue
            }
            #expect(ldd.status == 0, "ldd \(binary): \(ldd.stderr)")
            for line in ldd.stdout.split(separator: "\n") {
                guard let arrow = line.range(of: "=> ") else { continue }
                let path = String(line[arrow.upperBound...].split(separator: " ").first ?? "")
                guard path.hasPrefix("/"), !path.contains("/swift/") else { continue }
                let owner = try Shell.run(["dpkg", "-S", path], check: false)
                let resolved = owner.status == 0 ? owner : try Shell.run(["dpkg", "-S", "/usr" + path], check: false)
                let package = try #require(resolved.stdout.split(separator: ":").first.map(String.init), "\(path) belongs to no package")
                #expect(available.contains(package), "\(path) is in \(package), which the runtime stage does not install")
                checked += 1
            }
        }
        #expect(checked >= 10, "libseccomp, libcap, libselinux, libapparmor and libc at least, in each of cloister-full and cloister-serve")
    }

    @Test("rules and policies where the Containerfile puts them are found by the binary")
    func imageLayout() throws {
        let scratch = try ScratchDirectory("image-layout")
        defer { scratch.remove() }
        let bin = scratch.url.appendingPathComponent("usr/local/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let installed = bin.appendingPathComponent("cloister")
        // Copied by cp, not in this process: a test forking meanwhile would inherit the open
        // file and the exec below would fail with ETXTBSY. All three, as the image has them.
        try Shell.run(["cp"] + (try Self.builtExecutables().map(\.path)) + [bin.path])
        for (source, destination) in try Containerfile().contextCopies() where source == "rules" || source == "policies" {
            let target = scratch.url.appendingPathComponent(String(destination.dropFirst()))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Paths.repositoryRoot.appendingPathComponent(source), to: target)
        }
        // No CLOISTER_RULES or CLOISTER_POLICY, run from / : only the layout can find them.
        let environment = ["env", "-u", "CLOISTER_RULES", "-u", "CLOISTER_POLICY", "-C", "/"]
        let list = try Shell.run(environment + [installed.path, "rules", "lint"], check: false)
        #expect(list.status == 0, "\(list.stderr) \(list.arguments)")
        #expect(list.stdout.contains("rule(s)"))
        let check = try Shell.run(
            environment + [installed.path, "check", Self.kubernetes.appendingPathComponent("daemonset.yaml").path, "--format", "json"],
            check: false)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("\"exposure\""), "the exposure policy was found and applied")
    }
}

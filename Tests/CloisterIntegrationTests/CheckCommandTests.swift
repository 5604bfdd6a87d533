import CloisterModel
import Foundation
import Testing

/// `cloister check --format json` (cloister.check/v1), decoded with the model's own types: the
/// fields it shares with cloister.scan/v1 (workloads, findings, issues) must decode as those do.
struct CheckReport: Decodable {
    struct InputError: Decodable {
        var file: String
        var line: Int?
        var column: Int?
        var message: String
    }

    var schema: String
    var files: Int
    var documents: Int
    var errors: [InputError]
    var skipped: [String]
    var workloads: [Posture]
    var findings: [Finding]
    var issues: [ScanIssue]
}

extension Cloister {
    /// Runs `cloister ARGUMENTS…` and returns its result whatever the exit status.
    static func run(_ arguments: [String], timeout: Int = 120) throws -> CommandResult {
        try Shell.run([try Paths.cloisterExecutable().path] + arguments, timeout: timeout, check: false)
    }

    /// `cloister check FILES… --format json`, decoded; `status` is the exit status.
    static func check(_ files: [String], extra: [String] = []) throws -> (report: CheckReport, status: Int32, stderr: String) {
        let result = try run(["check"] + files + ["--format", "json"] + extra)
        do {
            return (try JSONDecoder().decode(CheckReport.self, from: Data(result.stdout.utf8)), result.status, result.stderr)
        } catch {
            throw HarnessError("`cloister check` printed no cloister.check/v1 report (\(error)): \(result.stdout.prefix(2000)) \(result.stderr.prefix(2000))")
        }
    }
}

/// A scratch directory for files a test writes; removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(label))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum Manifests {
    /// A realistic Deployment whose `privileged: true` stands on line `privilegedLine`.
    static let privilegedLine = 24
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: node-tuner
          namespace: ops
          labels: {app: node-tuner}
        spec:
          replicas: 1
          selector:
            matchLabels: {app: node-tuner}
          template:
            metadata:
              labels: {app: node-tuner}
            spec:
              serviceAccountName: node-tuner
              containers:
              - name: tuner
                image: registry.example.org/ops/node-tuner:2.3.1
                args: ["--interval=60s"]
                ports:
                - containerPort: 9100
                  name: metrics
                securityContext:
                  privileged: true
                resources:
                  limits: {cpu: 200m, memory: 128Mi}
                  requests: {cpu: 50m, memory: 64Mi}
        """

    /// A hardened Deployment (Pod Security restricted, AppArmor, limits, user namespace).
    static let hardened = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
        spec:
          replicas: 3
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              hostUsers: false
              securityContext:
                runAsNonRoot: true
                runAsUser: 10001
                seccompProfile: {type: RuntimeDefault}
                appArmorProfile: {type: RuntimeDefault}
              containers:
              - name: web
                image: registry.example.org/shop/web:5.0.2
                securityContext:
                  allowPrivilegeEscalation: false
                  readOnlyRootFilesystem: true
                  capabilities: {drop: [ALL]}
                resources:
                  limits: {cpu: 500m, memory: 256Mi}
        """

    /// Broken on line 4: a mapping value where a scalar has already started.
    static let broken = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: broken: yes
        spec:
          containers: []
        """
}

@Suite("cloister check")
struct CheckCommandTests {
    @Test("a privileged container in a Deployment is a finding on its line, in JSON and in SARIF")
    func privilegedLandsOnItsLine() throws {
        let scratch = try ScratchDirectory("check-line")
        defer { scratch.remove() }
        let file = try scratch.write("deploy/node-tuner.yaml", Manifests.deployment)
        let (report, status, _) = try Cloister.check([file])
        #expect(report.schema == "cloister.check/v1")
        #expect(status == 0, "no gate was asked for")
        let privileged = try #require(report.findings.first { $0.rule == "ct-privileged" })
        #expect(privileged.location?.file == file)
        #expect(privileged.location?.line == Manifests.privilegedLine)
        #expect(privileged.location?.path == "spec.template.spec.containers[0].securityContext.privileged")
        #expect(report.workloads.allSatisfy { $0.exposure != nil }, "workloads are scored")
        #expect(report.findings.allSatisfy { finding in report.workloads.contains { $0.id == finding.workload } })

        let sarif = try Cloister.run(["check", file, "--format", "sarif"])
        #expect(sarif.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])
        let results = try #require(((object["runs"] as? [[String: Any]])?.first?["results"]) as? [[String: Any]])
        let result = try #require(results.first { $0["ruleId"] as? String == "ct-privileged" })
        let location = try #require((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        // An absolute path becomes a file: URI.
        #expect((location["artifactLocation"] as? [String: Any])?["uri"] as? String == "file://" + file)
        #expect((location["region"] as? [String: Any])?["startLine"] as? Int == Manifests.privilegedLine)
    }

    @Test("SARIF from check validates against the official 2.1.0 schema (needs python3 with jsonschema)",
          .enabled(if: Host.requires(CheckCommandTests.hasJSONSchema), "needs python3 with jsonschema (apt install python3-jsonschema)"))
    func sarifValidates() throws {
        let scratch = try ScratchDirectory("check-sarif")
        defer { scratch.remove() }
        let files = [
            try scratch.write("node-tuner.yaml", Manifests.deployment),
            try scratch.write("web.yaml", Manifests.hardened),
            try scratch.write("broken.yaml", Manifests.broken),
        ]
        let output = scratch.url.appendingPathComponent("check.sarif").path
        let result = try Cloister.run(["check"] + files + ["--format", "sarif", "--output", output])
        #expect(result.status == 2, "an invalid file: exit 2 (\(result.stderr))")
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            log = json.load(open(sys.argv[2]))
            validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
            for error in errors[:10]:
                print("/".join(map(str, error.path)), error.message)
            results = log["runs"][0]["results"]
            assert results, "no results"
            for r in results:
                region = r["locations"][0]["physicalLocation"]["region"]
                assert region["startLine"] >= 1, r
            sys.exit(1 if errors else 0)
            """
        let schema = Paths.repositoryRoot.appendingPathComponent("Tests/CloisterReportTests/Fixtures/sarif-schema-2.1.0.json").path
        let validation = try Shell.run(["python3", "-c", script, schema, output], check: false)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        // The invalid file is reported in the log, not only on standard error.
        let log = try String(contentsOfFile: output, encoding: .utf8)
        #expect(log.contains("broken.yaml:4"))
    }

    static let hasJSONSchema: Bool = (try? Shell.run(["python3", "-c", "import jsonschema"], check: false))?.status == 0

    @Test("an invalid file is named with its line and exit 2, and the other files are still checked and reported")
    func invalidFileDoesNotHideTheRest() throws {
        let scratch = try ScratchDirectory("check-invalid")
        defer { scratch.remove() }
        let broken = try scratch.write("a-broken.yaml", Manifests.broken)
        let good = try scratch.write("b-node-tuner.yaml", Manifests.deployment)
        let (report, status, stderr) = try Cloister.check([broken, good])
        #expect(status == 2)
        let error = try #require(report.errors.first)
        #expect(error.file == broken)
        #expect(error.line == 4)
        #expect(error.message.contains("YAML"))
        #expect(stderr.contains("\(broken):4"))
        #expect(report.findings.contains { $0.rule == "ct-privileged" && $0.location?.file == good })
    }

    @Test("exit status: 0 clean, 1 gate failed, 2 invalid input (which wins over 1)")
    func exitStatusPrecedence() throws {
        let scratch = try ScratchDirectory("check-exit")
        defer { scratch.remove() }
        let hardened = try scratch.write("web.yaml", Manifests.hardened)
        let privileged = try scratch.write("node-tuner.yaml", Manifests.deployment)
        let broken = try scratch.write("broken.yaml", Manifests.broken)
        #expect(try Cloister.check([hardened], extra: ["--fail-on", "high"]).status == 0)
        let failed = try Cloister.check([privileged], extra: ["--fail-on", "high"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("gate"))
        #expect(try Cloister.check([privileged, broken], extra: ["--fail-on", "high"]).status == 2)
        #expect(try Cloister.check([privileged], extra: ["--max-exposure", "2.0"]).status == 1)
    }

    @Test("every format of the fixture tree yields findings that point into its files")
    func everyFormatHasLocatedFindings() throws {
        let fixtures = Paths.repositoryRoot.appendingPathComponent("Tests/CloisterCheckTests/Fixtures")
        let directories = ["oci", "kubernetes", "compose", "libvirt", "qemu", "firecracker"]
        let (report, status, _) = try Cloister.check(directories.map { fixtures.appendingPathComponent($0).path })
        #expect(status == 0)
        #expect(report.errors.isEmpty)
        for directory in directories {
            let mine = report.findings.filter { $0.location?.file.contains("/Fixtures/\(directory)/") == true }
            #expect(!mine.isEmpty, "no findings in \(directory)")
            #expect(mine.allSatisfy { ($0.location?.line ?? 0) >= 1 }, "\(directory): a finding without a line")
        }
    }
}

@Suite("cloister advise --from")
struct AdviseFromFileTests {
    @Test("a Kubernetes manifest is advised on from the posture it declares")
    func kubernetesManifest() throws {
        let scratch = try ScratchDirectory("advise-from")
        defer { scratch.remove() }
        let privileged = try scratch.write("node-tuner.yaml", Manifests.deployment)
        let result = try Cloister.run(["advise", "--from", privileged, "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let advice = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(advice["recommendation"] != nil)
        // Privileged is a relaxation, and advise says so out loud.
        #expect(result.stderr.contains("privileged"))

        let hardened = try scratch.write("web.yaml", Manifests.hardened)
        let table = try Cloister.run(["advise", "--from", hardened])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("RECOMMENDATION"))
        #expect(!table.stderr.contains("relaxation"))
    }

    @Test("several workloads need --workload; an unknown one is an input error")
    func choosingAWorkload() throws {
        let scratch = try ScratchDirectory("advise-choose")
        defer { scratch.remove() }
        let both = try scratch.write("both.yaml", Manifests.deployment + "\n---\n" + Manifests.hardened)
        let ambiguous = try Cloister.run(["advise", "--from", both])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderr.contains("--workload"))
        let chosen = try Cloister.run(["advise", "--from", both, "--workload", "shop/web/web", "--format", "json"])
        #expect(chosen.status == 0, "\(chosen.stderr)")
        let unknown = try Cloister.run(["advise", "--from", both, "--workload", "nope"])
        #expect(unknown.status == 2)
    }
}

import Foundation
import Testing

/// `--format oscal` from the built binary, validated by compliance-trestle's models of NIST's
/// OSCAL 1.1.3 schema (scripts/validate-oscal.py).
enum OSCALValidation {
    static var available: Bool {
        ((try? Shell.run(["python3", "-c", "import trestle.oscal.assessment_results"], check: false))?.status ?? 1) == 0
    }

    static func validate(_ path: String) throws -> CommandResult {
        let script = Paths.repositoryRoot.appendingPathComponent("scripts/validate-oscal.py").path
        return try Shell.run(["python3", script, path], check: false)
    }

    static func result(_ path: String) throws -> [String: Any] {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let results = try #require((document["assessment-results"] as? [String: Any])?["results"] as? [[String: Any]])
        return try #require(results.first)
    }

    /// The finding whose `rule` property is `rule`.
    static func finding(_ result: [String: Any], rule: String) -> [String: Any]? {
        (result["findings"] as? [[String: Any]] ?? []).first { finding in
            (finding["props"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "rule" && $0["value"] as? String == rule }
        }
    }
}

@Suite("OSCAL output of scan and check", .serialized)
struct OSCALOutputTests {
    @Test("a live scan of a privileged container is valid OSCAL with a not-satisfied AC-6 finding, tested",
          .needsPodman,
          .enabled(if: Host.requires(OSCALValidation.available), "needs compliance-trestle (scripts/install-deps.sh)"))
    func liveScan() throws {
        let container = try PodmanContainer.run("oscal-live", flags: ["--privileged"])
        defer { container.stop() }
        let scratch = try ScratchDirectory("oscal-live")
        defer { scratch.remove() }
        let output = scratch.url.appendingPathComponent("scan.oscal.json").path

        let run = try Assess.scan(pid: container.pid, format: "oscal", ["--output", output])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let validation = try OSCALValidation.validate(output)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")

        let result = try OSCALValidation.result(output)
        let privileged = try #require(OSCALValidation.finding(result, rule: "ct-privileged"))
        let target = try #require(privileged["target"] as? [String: Any])
        #expect(target["target-id"] as? String == "ac-6")
        #expect((target["status"] as? [String: Any])?["state"] as? String == "not-satisfied")
        let observations = try #require(result["observations"] as? [[String: Any]])
        #expect(!observations.isEmpty && observations.allSatisfy { $0["methods"] as? [String] == ["TEST"] })
    }

    @Test("check of a manifest is valid OSCAL: examined, the file as evidence, a hostile name kept as data",
          .enabled(if: Host.requires(OSCALValidation.available), "needs compliance-trestle (scripts/install-deps.sh)"))
    func checkManifest() throws {
        let scratch = try ScratchDirectory("oscal-check")
        defer { scratch.remove() }
        let hostileName = "web\\e[31m<script>alert(1)</script>|`x`\\n**bold**"
        let hostile = try scratch.write("hostile.yaml", """
            apiVersion: v1
            kind: Pod
            metadata:
              name: "\(hostileName)"
            spec:
              hostPID: true
              containers:
                - name: app
                  image: registry.example/app:1
            """)
        let files = [try scratch.write("node-tuner.yaml", Manifests.deployment), hostile]
        let output = scratch.url.appendingPathComponent("check.oscal.json").path
        let run = try Cloister.run(["check"] + files + ["--format", "oscal", "--output", output])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let validation = try OSCALValidation.validate(output)
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")

        let result = try OSCALValidation.result(output)
        let observations = try #require(result["observations"] as? [[String: Any]])
        #expect(!observations.isEmpty && observations.allSatisfy { $0["methods"] as? [String] == ["EXAMINE"] })
        let privileged = try #require(OSCALValidation.finding(result, rule: "ct-privileged"))
        let evidenceID = try #require((privileged["related-observations"] as? [[String: Any]])?.first?["observation-uuid"] as? String)
        let evidence = try #require(observations.first { $0["uuid"] as? String == evidenceID })
        let hrefs = (evidence["relevant-evidence"] as? [[String: Any]] ?? []).compactMap { $0["href"] as? String }
        #expect(hrefs.contains { $0.hasSuffix("node-tuner.yaml") })
        #expect(OSCALValidation.finding(result, rule: "ct-host-pid") != nil)

        // The hostile name: exact in the inventory item's property (line breaks as spaces),
        // escaped wherever OSCAL reads Markdown.
        let items = try #require((result["local-definitions"] as? [String: Any])?["inventory-items"] as? [[String: Any]])
        let names = items.flatMap { $0["props"] as? [[String: Any]] ?? [] }
            .filter { $0["name"] as? String == "workload-name" }.compactMap { $0["value"] as? String }
        #expect(names.contains { $0.contains("web\u{1B}[31m<script>alert(1)</script>|`x` **bold**") }, "\(names)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.contains("&lt;script&gt;"))
    }
}

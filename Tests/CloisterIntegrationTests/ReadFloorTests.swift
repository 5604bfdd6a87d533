import Foundation
import Testing

/// The C programs the scan benchmark times as floors (scripts/*-read-floor.c) build, and the
/// seccomp one reads a real container's filters and leaves it running.
@Suite("the benchmark's read floors")
struct ReadFloorTests {
    static func build(_ source: String) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("floor")).path
        try Shell.run(["cc", "-O2", "-Wall", "-Werror", "-o", output, Paths.repositoryRoot.appendingPathComponent(source).path])
        return output
    }

    @Test("scan-read-floor.c and seccomp-read-floor.c compile without warnings (check-read-floor.c needs libyaml: bench-check.sh builds it)", .enabled(if: Host.requires(Shell.has("cc")), "no C compiler"))
    func compile() throws {
        for source in ["scripts/scan-read-floor.c", "scripts/seccomp-read-floor.c"] {
            let binary = try Self.build(source)
            try? FileManager.default.removeItem(atPath: binary)
        }
    }

    @Test("seccomp-read-floor.c reads a podman container's filter and the container keeps running", .needsPodman)
    func readsPodmanFilter() throws {
        let binary = try Self.build("scripts/seccomp-read-floor.c")
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let container = try PodmanContainer.run("seccomp-floor")
        defer { container.stop() }
        let result = try Shell.run([binary])
        var fields: [String: Double] = [:]
        for word in result.stdout.split(whereSeparator: \.isWhitespace) {
            let pair = word.split(separator: "=", maxSplits: 1)
            if pair.count == 2, let value = Double(pair[1]) { fields[String(pair[0])] = value }
        }
        // podman's default profile: one filter on the container's init at least.
        #expect((fields["threads"] ?? 0) >= 1, "\(result.stdout)")
        #expect((fields["filters"] ?? 0) >= 1, "\(result.stdout)")
        #expect((fields["instructions"] ?? 0) > 100, "\(result.stdout)")
        #expect(fields["failed"] == 0, "\(result.stdout)")
        #expect(ProcFS.exists(container.pid))
        let state = try PodmanContainer.podman(["inspect", "--format", "{{.State.Running}}", container.name])
        #expect(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true")
    }
}

import CloisterFormats
import CloisterModel
import Foundation
import Testing

@testable import CloisterCheck

/// Starts a real container with runc from a config.json, then compares what `check` declares
/// with what the kernel shows for the container's process. The comparison reads /proc directly
/// (a few lines of status and the namespace links), so it does not depend on the live scanner.
@Suite(
    "a runc container and the config that started it",
    .enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")
            && FileManager.default.isExecutableFile(atPath: "/bin/busybox"),
        "needs root, runc and a static /bin/busybox to start a container"),
    .serialized)
struct LiveRuncTests {
    struct Observed {
        var capabilities: CapabilitySets
        var noNewPrivileges: Bool
        var seccomp: SeccompMode
        var namespaces: [NamespaceType: NamespaceSharing]
    }

    static func capabilityNames(_ hex: String) -> [String] {
        guard let mask = UInt64(hex, radix: 16) else { return [] }
        return LinuxCapabilities.all.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }

    static func observe(pid: Int32) throws -> Observed {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var fields: [String: String] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        var namespaces: [NamespaceType: NamespaceSharing] = [:]
        let names: [NamespaceType: String] = [.pid: "pid", .net: "net", .mnt: "mnt", .ipc: "ipc", .uts: "uts", .user: "user"]
        for (type, name) in names {
            let inside = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(name)")
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(name)")
            namespaces[type] = inside == host ? .host : .private
        }
        return Observed(
            capabilities: CapabilitySets(
                effective: capabilityNames(fields["CapEff"] ?? ""), permitted: capabilityNames(fields["CapPrm"] ?? ""),
                bounding: capabilityNames(fields["CapBnd"] ?? ""), ambient: capabilityNames(fields["CapAmb"] ?? ""),
                inheritable: capabilityNames(fields["CapInh"] ?? "")),
            noNewPrivileges: fields["NoNewPrivs"] == "1",
            seccomp: fields["Seccomp"] == "2" ? .filter : fields["Seccomp"] == "1" ? .strict : .disabled,
            namespaces: namespaces)
    }

    static func run(_ arguments: [String], in directory: URL? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runc")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if arguments.first == "run" {
            // A detached container inherits runc's stdio: a pipe would stay open until it exits.
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return ""
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes a bundle from `config`, runs it, and returns the declared and observed postures.
    static func compare(config: [String: Any], name: String) throws -> (Posture, Observed) {
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-\(name)-\(getpid())")
        let bin = bundle.appendingPathComponent("rootfs/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: bundle) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: bin.appendingPathComponent("busybox").path)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("sleep").path, withDestinationPath: "busybox")
        let configURL = bundle.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: configURL)

        let id = "cloister-\(name)-\(getpid())"
        _ = try run(["run", "-d", id], in: bundle)
        defer {
            _ = try? run(["kill", id, "KILL"])
            usleep(200_000)
            _ = try? run(["delete", "--force", id])
        }
        let state = try run(["state", id])
        let stateObject = try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any]
        let pid = try #require((stateObject?["pid"] as? NSNumber)?.int32Value, "runc state: \(state)")
        try #require(pid > 0, "the container is not running: runc state: \(state)")
        // `runc run -d` returns once the container is started, which can be before its init
        // has called execve: until then the process holds the capabilities runc gave it, not
        // those the kernel leaves after exec. Observe the command the config runs, not runc's init.
        for _ in 0..<200 {
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            if !command.hasPrefix("runc") { break }
            usleep(10_000)
        }
        let observed = try observe(pid: pid)
        let declared = try #require(Check.check(paths: [configURL.path]).workloads.first)
        return (declared, observed)
    }

    static func baseConfig() throws -> [String: Any] {
        // One directory per call: the suite's tests run side by side, and `runc spec` refuses
        // to write over another's config.json.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try run(["spec"], in: directory)
        let data = try Data(contentsOf: directory.appendingPathComponent("config.json"))
        var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var process = try #require(config["process"] as? [String: Any])
        process["terminal"] = false
        process["args"] = ["/bin/sleep", "30"]
        config["process"] = process
        return config
    }

    static func expectSame(_ declared: Posture, _ observed: Observed) {
        #expect(declared.capabilities.bounding == observed.capabilities.bounding)
        #expect(declared.capabilities.effective == observed.capabilities.effective)
        #expect(declared.capabilities.permitted == observed.capabilities.permitted)
        #expect(declared.capabilities.ambient == observed.capabilities.ambient)
        #expect(declared.capabilities.inheritable == observed.capabilities.inheritable)
        #expect(declared.noNewPrivileges == observed.noNewPrivileges)
        #expect(declared.seccomp?.mode == observed.seccomp)
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts, .user] {
            #expect(declared.namespaces[type] == observed.namespaces[type], "namespace \(type)")
        }
    }

    @Test func runcDefaultSpec() throws {
        let (declared, observed) = try Self.compare(config: try Self.baseConfig(), name: "default")
        Self.expectSame(declared, observed)
    }

    @Test func nonRootWithSeccompAndSharedNetwork() throws {
        var config = try Self.baseConfig()
        var process = try #require(config["process"] as? [String: Any])
        process["user"] = ["uid": 1000, "gid": 1000]
        process["noNewPrivileges"] = false
        process["capabilities"] = [
            "bounding": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_KILL"],
            "effective": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        ]
        config["process"] = process
        var linux = try #require(config["linux"] as? [String: Any])
        let namespaces = try #require(linux["namespaces"] as? [[String: Any]])
        linux["namespaces"] = namespaces.filter { ($0["type"] as? String) != "network" }
        linux["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [["names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"]],
        ]
        config["linux"] = linux
        let (declared, observed) = try Self.compare(config: config, name: "nonroot")
        #expect(declared.capabilities.effective == ["CAP_NET_BIND_SERVICE"])
        Self.expectSame(declared, observed)
    }
}

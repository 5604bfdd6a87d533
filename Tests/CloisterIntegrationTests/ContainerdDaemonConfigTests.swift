import CloisterModel
import Foundation
import Testing

/// containerd's configuration under the real daemon: started with a real config.toml that opens
/// its gRPC API on TCP without TLS and disables AppArmor for CRI, then a whole-host scan.
@Suite("containerd daemon configuration", .serialized, .needsContainerd)
struct ContainerdDaemonConfigTests {
    @Test("tcp_address without TLS and disable_apparmor fire for that containerd, with the file's lines")
    func configured() throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("cloister-ctdconf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.toml")
        let port = Int.random(in: 30000...39999)
        try """
            version = 2
            [grpc]
              tcp_address = "127.0.0.1:\(port)"
            [plugins."io.containerd.grpc.v1.cri"]
              disable_apparmor = true
            """.write(to: config, atomically: true, encoding: .utf8)
        let engine = try ContainerdEngine.start(extraArguments: ["--config", config.path])
        defer { engine.stop() }
        let report = try Cloister.scan()
        let mine = report.findings.filter { $0.workload == "host" && $0.message.hasPrefix("containerd (pid \(engine.containerd.pid))") }
        let rules = Set(mine.map(\.rule))
        #expect(rules.contains("containerd-grpc-tcp-without-tls"), "fired \(rules.sorted())")
        #expect(rules.contains("containerd-cri-apparmor-disabled"), "fired \(rules.sorted())")
        #expect(mine.first { $0.rule == "containerd-grpc-tcp-without-tls" }?.message.contains("\(config.path):3") == true)
        // Its socket, made by containerd itself, is root:root 0660 or tighter.
        #expect(!rules.contains("containerd-socket-permissions"))
        #expect(!rules.contains("containerd-socket-ownership"))
    }

    @Test("a containerd without a config file: none of the config rules")
    func defaults() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-ctd-empty-\(getpid()).toml")
        try "version = 2\n".write(to: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }
        let engine = try ContainerdEngine.start(extraArguments: ["--config", empty.path])
        defer { engine.stop() }
        let report = try Cloister.scan()
        let rules = Set(report.findings.filter { $0.workload == "host" && $0.message.hasPrefix("containerd (pid \(engine.containerd.pid))") }.map(\.rule))
        #expect(rules.isEmpty, "fired \(rules.sorted())")
    }
}

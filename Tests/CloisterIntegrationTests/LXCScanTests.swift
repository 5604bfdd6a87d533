import CloisterModel
import Foundation
import Testing

/// A real LXC container (busybox template, no network since this host has no bridge).
@Suite("LXC containers", .serialized)
struct LXCScanTests {
    @Test("lxc-start of a busybox container: runtime lxc, its name, LXC's default capability drops", .needsLXC)
    func busyboxContainer() throws {
        let name = "cloister-it-lxc-\(UUID().uuidString.prefix(8).lowercased())"
        defer {
            _ = try? Shell.run(["lxc-stop", "-n", name, "-k"], timeout: 60, check: false)
            _ = try? Shell.run(["lxc-destroy", "-n", name], timeout: 60, check: false)
        }
        try Shell.run(["lxc-create", "-n", name, "-t", "busybox"], timeout: 120)
        let config = "/var/lib/lxc/\(name)/config"
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.split(separator: "\n").filter { !$0.hasPrefix("lxc.net.0.") }.joined(separator: "\n")
            + "\nlxc.net.0.type = empty\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try Shell.run(["lxc-start", "-n", name, "-d"], timeout: 60)
        let info = try Shell.run(["lxc-info", "-n", name, "-p", "-H"], timeout: 30)
        let pid = try #require(Int32(info.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let posture = try Cloister.scanWorkload(containing: pid)
        #expect(posture.kind == .container)
        #expect(posture.runtime == "lxc")
        #expect(posture.name == name)
        #expect(posture.pid == Int(pid))
        for type in [NamespaceType.pid, .mnt, .ipc, .uts, .net] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        // The busybox template drops sys_module, mac_admin, mac_override and sys_time.
        let effective = Set(posture.capabilities.effective)
        #expect(effective.isDisjoint(with: ["CAP_SYS_MODULE", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_SYS_TIME"]))
        #expect(effective.contains("CAP_SYS_ADMIN"))
        #expect(posture.user.rootMappedToHost == true)
    }
}

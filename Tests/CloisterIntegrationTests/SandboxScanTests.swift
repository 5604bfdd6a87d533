import CloisterModel
import Foundation
import Testing

@Suite("bubblewrap and firejail sandboxes", .serialized)
struct SandboxScanTests {
    @Test("bwrap --unshare-all: a sandbox in private namespaces, no capabilities", .needsBubblewrap)
    func bubblewrap() throws {
        let sandbox = try Bubblewrap.start()
        defer { sandbox.stop() }
        let posture = try Cloister.scanWorkload(containing: sandbox.pid)

        #expect(posture.kind == .sandbox)
        #expect(posture.runtime == "bubblewrap")
        #expect(posture.processes.contains(Int(sandbox.pid)))
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts, .user, .cgroup] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        // bwrap drops every capability of the sandboxed command and always sets no_new_privs.
        #expect(posture.capabilities.effective.isEmpty)
        #expect(posture.noNewPrivileges == true)
        #expect(posture.readOnlyRootfs == true)
    }

    @Test("firejail --noprofile: a sandbox with its own pid and mount namespaces", .needsFirejail)
    func firejail() throws {
        let sandbox = try Firejail.start()
        defer { sandbox.stop() }
        let posture = try Cloister.scanWorkload(containing: sandbox.pid)

        #expect(posture.kind == .sandbox)
        #expect(posture.runtime == "firejail")
        #expect(posture.processes.contains(Int(sandbox.pid)))
        #expect(posture.namespaces.pid == .private)
        #expect(posture.namespaces.mnt == .private)
        // No --net: the sandbox shares the host's network.
        #expect(posture.namespaces.net == .host)
    }
}

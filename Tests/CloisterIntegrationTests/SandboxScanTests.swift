import CloisterModel
import Foundation
import Testing

@Suite("bubblewrap and firejail sandboxes", .serialized)
struct SandboxScanTests {
    @Test("bwrap --unshare-all as root: every namespace private, root is host root, caps kept", .needsBubblewrap)
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
        // Started by root, bwrap maps only root (`0 0 1`) and keeps root's capabilities in its
        // new user namespace: a private namespace that still holds host root.
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 0, count: 1)])
        #expect(posture.user.rootMappedToHost == true)
        #expect(posture.capabilities.effective.contains("CAP_SYS_ADMIN"))
        // bwrap always sets no_new_privs; the rootfs is bound read-only.
        #expect(posture.noNewPrivileges == true)
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.readOnlyRootfs == true)
    }

    @Test("bwrap --cap-drop ALL: no capabilities in any set", .needsBubblewrap)
    func bubblewrapWithoutCapabilities() throws {
        let sandbox = try Bubblewrap.start("bwrap-nocaps", extraFlags: ["--cap-drop", "ALL"])
        defer { sandbox.stop() }
        let posture = try Cloister.scanWorkload(containing: sandbox.pid)

        #expect(posture.runtime == "bubblewrap")
        #expect(posture.capabilities.effective.isEmpty)
        #expect(posture.capabilities.permitted.isEmpty)
        #expect(posture.capabilities.bounding.isEmpty)
        #expect(posture.noNewPrivileges == true)
    }

    @Test("firejail --noprofile: own pid, mount, ipc and uts namespaces; host network and users", .needsFirejail)
    func firejail() throws {
        let sandbox = try Firejail.start()
        defer { sandbox.stop() }
        let posture = try Cloister.scanWorkload(containing: sandbox.pid)

        #expect(posture.kind == .sandbox)
        #expect(posture.runtime == "firejail")
        #expect(posture.name == sandbox.name)
        #expect(posture.processes.contains(Int(sandbox.pid)))
        for type in [NamespaceType.pid, .mnt, .ipc, .uts] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        // No --net, no --noroot: the host's network and user namespace.
        #expect(posture.namespaces.net == .host)
        #expect(posture.namespaces.user == .host)
        // Without a profile firejail adds neither seccomp nor no_new_privs.
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.noNewPrivileges == false)
    }
}

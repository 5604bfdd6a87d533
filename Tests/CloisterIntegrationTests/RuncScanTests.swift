import CloisterModel
import Foundation
import Testing

@Suite("plain runc", .serialized, .needsRunc)
struct RuncScanTests {
    @Test("a runc spec bundle: runtime runc, name = container id, spec's defaults")
    func specDefaults() throws {
        let container = try RuncContainer.run("runc")
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        #expect(posture.kind == .container)
        #expect(posture.runtime == "runc")
        #expect(posture.ociRuntime == "runc")
        #expect(posture.name == container.id)
        #expect(posture.id.contains(container.id))
        // `runc spec` asks for these namespaces and no user namespace.
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        #expect(posture.namespaces.user == .host)
        #expect(posture.user.rootMappedToHost == true)
        #expect(Set(posture.capabilities.effective) == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        // The generated spec has no seccomp section but does set noNewPrivileges.
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.noNewPrivileges == true)
        #expect(posture.readOnlyRootfs == true)
    }
}

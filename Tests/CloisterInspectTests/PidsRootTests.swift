import CloisterModel
import Foundation
import Testing
@testable import CloisterInspect
#if canImport(Glibc)
import Glibc
#endif

/// A process at the root of the hierarchy that holds the pids controller has no limit there
/// (the root has no pids.max). On a hybrid host that hierarchy is v1's, whatever the process's
/// v2 path: qemu under libvirt and systemd-nspawn machines on this host sit at `pids:/` with a
/// v2 path below the root.
@Suite struct PidsRootTests {
    /// A copy of a captured tree with the qemu guest's (PID 16463) /proc/PID/cgroup replaced.
    func scanWithGuestCgroup(_ fixture: String, _ cgroup: String) throws -> Posture {
        var template = Array("/tmp/cloister-pids-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let directory = String(cString: try #require(made))
        defer { _ = system("rm -rf '\(directory)'") }
        #expect(system("cp -a '\(FixtureScanTests.fixture(fixture))/.' '\(directory)/'") == 0)
        let file = try #require(fopen(directory + "/proc/16463/cgroup", "w"))
        fputs(cgroup, file)
        fclose(file)
        let result = try HostScanner(root: HostRoot(prefix: directory)).scan()
        return try FixtureScanTests.workload(result, named: "kvmguest")
    }

    static let hybridCgroup = """
        9:name=systemd:/machine.slice/machine-qemu\\x2d1\\x2dkvmguest.scope
        8:pids:/
        7:blkio:/
        6:freezer:/
        5:devices:/
        4:memory:/process_api/96992237af54eb1e1cef5ffc2d873092
        3:cpuset:/
        2:cpuacct:/
        1:cpu:/
        0::/machine.slice/machine-qemu\\x2d1\\x2dkvmguest.scope

        """

    @Test func hybridPidsRootWithV2PathBelowRoot() throws {
        let guest = try scanWithGuestCgroup("hybrid-host", Self.hybridCgroup)
        #expect(guest.cgroup?.pidsMax == .max)
        #expect(guest.unknown[.cgroupPidsMax] == nil)
    }

    @Test func hybridPidsBelowRootWithoutFileStaysUnknown() throws {
        let text = Self.hybridCgroup.replacingOccurrences(of: "8:pids:/\n", with: "8:pids:/machine.slice/gone.scope\n")
        let guest = try scanWithGuestCgroup("hybrid-host", text)
        #expect(guest.cgroup?.pidsMax == nil)
        #expect(guest.unknown[.cgroupPidsMax] != nil)
    }

    @Test func pureV2Root() throws {
        let guest = try scanWithGuestCgroup("cgroupv2-host", "0::/\n")
        #expect(guest.cgroup?.pidsMax == .max)
    }

    @Test func pureV2BelowRootWithoutFileStaysUnknown() throws {
        // As captured: /process_api/… has no pids.max in the tree.
        let guest = try FixtureScanTests.workload(try FixtureScanTests.scan("cgroupv2-host"), named: "kvmguest")
        #expect(guest.cgroup?.pidsMax == nil)
        #expect(guest.unknown[.cgroupPidsMax] != nil)
    }
}

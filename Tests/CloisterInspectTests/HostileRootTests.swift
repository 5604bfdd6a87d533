import CloisterModel
import Testing
@testable import CloisterInspect
import CloisterSystem
#if canImport(Glibc)
import Glibc
#endif

/// A workload controls its own root filesystem. Symlinks it plants must never lead the
/// scanner to the host's files.
@Suite struct HostileRootTests {
    func makeRoot() throws -> String {
        var template = Array("/tmp/cloister-hostile-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: try #require(made))
    }

    @Test(arguments: ["/dev", "../../../../dev", "/proc/1/root/dev"])
    func devSymlinkOutOfRootIsNotFollowed(target: String) throws {
        let root = try makeRoot()
        defer { _ = system("rm -rf '\(root)'") }
        #expect(symlink(target, root + "/dev") == 0)
        let rooted = try RootedDirectory(path: root)
        var unknown: [FieldPath: String] = [:]
        let devices = PostureBuilder.deviceNodes(in: rooted, unknown: &unknown)
        // The host's /dev has /dev/null, /dev/kvm…; none may show up.
        #expect(devices.isEmpty)
        #expect(unknown["devices"] != nil)
    }

    @Test func nestedSymlinkToHostDeviceDirectoryIsNotFollowed() throws {
        let root = try makeRoot()
        defer { _ = system("rm -rf '\(root)'") }
        #expect(mkdir(root + "/dev", 0o755) == 0)
        #expect(symlink("/dev/net", root + "/dev/net") == 0)
        #expect(symlink("../../../../../dev/block", root + "/dev/block") == 0)
        let rooted = try RootedDirectory(path: root)
        var unknown: [FieldPath: String] = [:]
        #expect(PostureBuilder.deviceNodes(in: rooted, unknown: &unknown).isEmpty)
    }

    @Test func realDeviceNodeInsideRootIsReported() throws {
        let root = try makeRoot()
        defer { _ = system("rm -rf '\(root)'") }
        #expect(mkdir(root + "/dev", 0o755) == 0)
        // mknod needs CAP_MKNOD: this suite runs as root in CI.
        try #require(mknod(root + "/dev/mem", S_IFCHR | 0o640, dev_t(1 << 8 | 1)) == 0, "mknod needs root")
        let rooted = try RootedDirectory(path: root)
        var unknown: [FieldPath: String] = [:]
        let devices = PostureBuilder.deviceNodes(in: rooted, unknown: &unknown)
        #expect(devices.count == 1)
        #expect(devices.first?.path == "/dev/mem")
        #expect(devices.first?.major == 1 && devices.first?.minor == 1)
        #expect(devices.first?.standard == false)
    }
}

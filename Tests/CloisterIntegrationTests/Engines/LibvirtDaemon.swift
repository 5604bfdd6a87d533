import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A libvirt of the tests' own: `virtlogd`, then `libvirtd`, each started in the foreground as a
/// child of the test process and stopped by its PID. libvirtd runs in a private mount
/// namespace (`unshare --mount`, which execs, so its PID is libvirtd's) where the test's own
/// qemu.conf is bound over /etc/libvirt/qemu.conf: the host's file is never written, and a scan
/// reads the file libvirtd reads through libvirtd's root. The system instance's sockets and
/// state (/run/libvirt, /var/lib/libvirt) are the host's, so tests run under the engines lock
/// (`flock /tmp/cloister-engines.lock`).
///
/// Guests boot the test-assets kernel and initramfs directly (copies in the private directory:
/// libvirt chowns what a guest uses to the qemu user), `type='qemu'` (TCG: nested KVM does not
/// boot a stock kernel on these hosts), transient (`virsh create`), no disk.
final class LibvirtDaemon: @unchecked Sendable {
    static let connection = "qemu:///system"
    static let socket = "/run/libvirt/libvirt-sock"

    let directory: URL
    let qemuConf: URL
    let virtlogd: BackgroundProcess
    let libvirtd: BackgroundProcess
    private var domains: [String] = []
    private let lock = NSLock()

    /// Starts both daemons with `qemuConf` as libvirtd's qemu.conf, once libvirtd answers.
    /// Throws (having stopped whatever it started) when either does not come up.
    static func start(qemuConf text: String = "# cloister integration tests: libvirt's defaults\n") throws -> LibvirtDaemon {
        if FileManager.default.fileExists(atPath: socket),
            try Shell.run(["virsh", "-c", connection, "version"], timeout: 10, check: false).succeeded
        {
            throw HarnessError("a libvirtd already answers on \(socket); these tests start their own")
        }
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(uniqueName("libvirt"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The qemu user must reach the kernel and initrd copies.
        chmod(directory.path, 0o755)
        let qemuConf = directory.appendingPathComponent("qemu.conf")
        try text.write(to: qemuConf, atomically: true, encoding: .utf8)
        for asset in [Paths.kernel, Paths.initramfs] {
            try FileManager.default.copyItem(at: asset, to: directory.appendingPathComponent(asset.lastPathComponent))
        }
        let virtlogd: BackgroundProcess
        do {
            virtlogd = try BackgroundProcess(["virtlogd"], log: directory.appendingPathComponent("virtlogd.log"))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        guard wait(timeout: 20, { FileManager.default.fileExists(atPath: "/run/libvirt/virtlogd-sock") || !virtlogd.isRunning }),
            virtlogd.isRunning
        else {
            let log = virtlogd.log
            virtlogd.stop()
            try? FileManager.default.removeItem(at: directory)
            throw HarnessError("virtlogd did not start: \(log.suffix(2000))")
        }
        let libvirtd: BackgroundProcess
        do {
            libvirtd = try BackgroundProcess(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 "mount --bind \"$1\" /etc/libvirt/qemu.conf && exec libvirtd", "libvirtd", qemuConf.path],
                log: directory.appendingPathComponent("libvirtd.log"))
        } catch {
            virtlogd.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        let daemon = LibvirtDaemon(directory: directory, qemuConf: qemuConf, virtlogd: virtlogd, libvirtd: libvirtd)
        guard wait(timeout: 60, { (try? daemon.virsh(["version"], timeout: 10, check: false))?.succeeded == true || !libvirtd.isRunning }),
            libvirtd.isRunning
        else {
            let log = libvirtd.log
            daemon.stop()
            throw HarnessError("libvirtd did not start: \(log.suffix(3000))")
        }
        return daemon
    }

    private init(directory: URL, qemuConf: URL, virtlogd: BackgroundProcess, libvirtd: BackgroundProcess) {
        self.directory = directory
        self.qemuConf = qemuConf
        self.virtlogd = virtlogd
        self.libvirtd = libvirtd
    }

    @discardableResult
    func virsh(_ arguments: [String], timeout: Int = 60, check: Bool = true) throws -> CommandResult {
        try Shell.run(["virsh", "-c", Self.connection] + arguments, timeout: timeout, check: check)
    }

    /// The domain XML of a direct-kernel-boot TCG guest named `name` with `devices` (XML text)
    /// and, outside `<devices>`, `extra`.
    func domainXML(name: String, devices: String, extra: String = "") -> String {
        """
        <domain type='qemu'>
          <name>\(name)</name>
          <memory unit='MiB'>256</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='q35'>hvm</type>
            <kernel>\(directory.appendingPathComponent(Paths.kernel.lastPathComponent).path)</kernel>
            <initrd>\(directory.appendingPathComponent(Paths.initramfs.lastPathComponent).path)</initrd>
            <cmdline>console=ttyS0 panic=-1</cmdline>
          </os>
          <on_poweroff>destroy</on_poweroff>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
        \(devices)
          </devices>
        \(extra)
        </domain>
        """
    }

    /// `virsh create` of a transient guest, once libvirt's status file names its running qemu.
    func start(_ label: String, devices: String, extra: String = "") throws -> LibvirtDomain {
        let name = uniqueName(label)
        lock.lock()
        domains.append(name)
        lock.unlock()
        let file = directory.appendingPathComponent("\(name).xml")
        try domainXML(name: name, devices: devices, extra: extra).write(to: file, atomically: true, encoding: .utf8)
        try virsh(["create", file.path], timeout: 120)
        let status = "/run/libvirt/qemu/\(name).xml"
        var pid: Int32 = 0
        _ = wait(timeout: 30) {
            guard let text = try? String(contentsOfFile: status, encoding: .utf8),
                let range = text.range(of: "<domstatus state='running'")
            else { return false }
            let tag = text[range.lowerBound...].prefix { $0 != ">" }
            if let pidRange = tag.range(of: " pid='") {
                pid = Int32(tag[pidRange.upperBound...].prefix { $0 != "'" }) ?? 0
            }
            return pid > 0
        }
        guard pid > 0, ProcFS.exists(pid) else { throw HarnessError("domain \(name) is not running: \(libvirtd.log.suffix(2000))") }
        return LibvirtDomain(daemon: self, name: name, pid: pid, statusFile: status, definition: file)
    }

    /// Destroys a guest (its qemu is killed by libvirt) and, should libvirt fail, kills it by PID.
    func destroy(_ name: String, pid: Int32? = nil) {
        lock.lock()
        domains.removeAll { $0 == name }
        lock.unlock()
        if libvirtd.isRunning { _ = try? virsh(["destroy", name], timeout: 60, check: false) }
        if let pid, ProcFS.exists(pid) { kill(pid, SIGKILL) }
    }

    /// Replaces libvirtd's qemu.conf in place (the bind mount follows the inode, so libvirtd's
    /// view changes too; libvirtd itself reads it only at start).
    func rewriteQemuConf(_ text: String) throws {
        let handle = try FileHandle(forWritingTo: qemuConf)
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Destroys the guests, stops libvirtd and then virtlogd by their PIDs, and removes the
    /// private directory. Safe twice.
    func stop() {
        lock.lock()
        let names = domains
        lock.unlock()
        for name in names { destroy(name) }
        libvirtd.stop(grace: 15)
        virtlogd.stop(grace: 5)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

/// A running guest of a `LibvirtDaemon`: its qemu's PID and libvirt's live status file.
struct LibvirtDomain: Workload {
    let daemon: LibvirtDaemon
    let name: String
    let pid: Int32
    let statusFile: String
    let definition: URL

    func stop() { daemon.destroy(name, pid: pid) }
}

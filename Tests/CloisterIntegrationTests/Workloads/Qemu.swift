import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How to start a qemu guest. The defaults are the smallest guest: no display, no network,
/// no monitor, the busybox initramfs from test-assets/.
struct QemuOptions {
    enum Accelerator: String { case kvm, tcg }

    var label: String = "qemu"
    var accelerator: Accelerator = .tcg
    /// `-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny`.
    var sandbox = false
    /// `-vnc 0.0.0.0:N`: a console open to the network, on purpose.
    var vncDisplay: Int?
    /// `-monitor tcp:127.0.0.1:PORT,server,nowait`: a loopback-only monitor.
    var monitorPort: Int?
    /// `-nic user` (SLiRP); otherwise `-nic none`.
    var userNetwork = false
    /// `-fda FILE`: a floppy controller, the legacy device behind VENOM.
    var floppy = false
    /// `-machine TYPE`; nil keeps qemu's default `pc` (i440fx), which always has an ISA floppy
    /// controller. `q35` has none.
    var machine: String?

    static let sandboxOptions = [
        "obsolete": "deny", "elevateprivileges": "deny", "spawn": "deny", "resourcecontrol": "deny",
    ]
}

/// A real qemu guest. Without `-sandbox` it is started with `-daemonize -pidfile`, as
/// deployments do. With `spawn=deny` qemu may not fork, so `-daemonize` would kill it: it then
/// runs as a child of the test process instead.
final class QemuGuest: Workload, @unchecked Sendable {
    let name: String
    let options: QemuOptions
    let pid: Int32
    let consoleLog: URL
    private let child: BackgroundProcess?
    private let scratch: URL

    static let marker = "CLOISTER-GUEST-UP"

    init(_ options: QemuOptions) throws {
        let name = uniqueName(options.label)
        self.name = name
        self.options = options
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        consoleLog = scratch.appendingPathComponent("console.log")

        var arguments = ["qemu-system-x86_64", "-name", "guest=\(name)", "-m", "128",
                         "-kernel", Paths.kernel.path, "-initrd", Paths.initramfs.path,
                         "-append", "console=ttyS0 panic=-1",
                         "-display", "none", "-serial", "file:\(consoleLog.path)", "-no-reboot"]
        if let machine = options.machine { arguments += ["-machine", machine] }
        switch options.accelerator {
        case .kvm: arguments += ["-enable-kvm"]
        case .tcg: arguments += ["-accel", "tcg"]
        }
        if let port = options.monitorPort {
            arguments += ["-monitor", "tcp:127.0.0.1:\(port),server,nowait"]
        } else {
            arguments += ["-monitor", "none"]
        }
        if let display = options.vncDisplay { arguments += ["-vnc", "0.0.0.0:\(display)"] }
        arguments += options.userNetwork ? ["-nic", "user"] : ["-nic", "none"]
        if options.floppy {
            let image = scratch.appendingPathComponent("floppy.img")
            try Data(count: 1_474_560).write(to: image)
            arguments += ["-fda", image.path]
        }
        if options.sandbox {
            let sandbox = QemuOptions.sandboxOptions.keys.sorted()
                .map { "\($0)=\(QemuOptions.sandboxOptions[$0] ?? "deny")" }.joined(separator: ",")
            arguments += ["-sandbox", "on,\(sandbox)"]
        }

        var child: BackgroundProcess?
        var pid: Int32 = 0
        do {
            if options.sandbox {
                child = try BackgroundProcess(arguments, log: scratch.appendingPathComponent("qemu.log"))
                pid = child?.pid ?? 0
            } else {
                let pidfile = scratch.appendingPathComponent("qemu.pid")
                try Shell.run(arguments + ["-daemonize", "-pidfile", pidfile.path])
                let text = try String(contentsOf: pidfile, encoding: .utf8)
                guard let daemon = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw HarnessError("qemu wrote no pid to \(pidfile.path)")
                }
                pid = daemon
            }
        } catch {
            child?.stop()
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
        self.child = child
        self.pid = pid
        do {
            try waitUntilUp()
        } catch {
            stop()
            throw error
        }
    }

    /// KVM guests here cannot boot a stock kernel, but the hypervisor process with its vm and
    /// vcpu descriptors is what is scanned. TCG guests must show the marker on the console.
    private func waitUntilUp() throws {
        switch options.accelerator {
        case .kvm:
            let up = wait(timeout: 20) {
                ProcFS.exists(pid) && openDescriptors().contains { $0.hasPrefix("anon_inode:kvm-vcpu") }
            }
            guard up else { throw HarnessError("qemu -enable-kvm (pid \(pid)) opened no vcpu: \(log)") }
        case .tcg:
            let up = wait(timeout: 90) {
                guard ProcFS.exists(pid) else { return true }
                return ((try? String(contentsOf: consoleLog, encoding: .utf8)) ?? "").contains(Self.marker)
            }
            guard up, ProcFS.exists(pid) else {
                throw HarnessError("TCG guest \(name) did not print \(Self.marker): \(log)")
            }
        }
    }

    private func openDescriptors() -> [String] {
        let directory = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
    }

    private var log: String {
        let qemuLog = (try? String(contentsOf: scratch.appendingPathComponent("qemu.log"), encoding: .utf8)) ?? ""
        let console = (try? String(contentsOf: consoleLog, encoding: .utf8)) ?? ""
        return String((qemuLog + console).suffix(2000))
    }

    private func stopProcesses() {
        if let child { child.stop() } else { ProcFS.terminate(pid) }
    }

    func stop() {
        stopProcesses()
        try? FileManager.default.removeItem(at: scratch)
    }
}

enum Ports {
    /// A TCP port in `range` that nothing listens on at the moment (0.0.0.0 bind succeeds).
    static func free(in range: ClosedRange<Int>) throws -> Int {
        for port in range.shuffled() where isFree(port) { return port }
        throw HarnessError("no free TCP port in \(range)")
    }

    /// A VNC display whose port (5900 + display) is free.
    static func freeVNCDisplay(in range: ClosedRange<Int> = 77...99) throws -> Int {
        for display in range where isFree(5900 + display) { return display }
        throw HarnessError("no free VNC display in \(range)")
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0
    }
}

import Foundation

import CloisterPlacement

/// `--measure`: times one container-style start (bubblewrap with every namespace unshared,
/// running /bin/true) and one VM start (qemu with KVM booting a one-sector guest that exits
/// at once) on this host. Without KVM it does not time TCG, which would say nothing. Optional and simple by design: what cannot be
/// measured keeps the catalogue's figure and says why.
enum StartupMeasurement {
    static func run() -> MeasuredFigures {
        var figures = MeasuredFigures()
        if let bwrap = which("bwrap") {
            let args = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "/bin/true"]
            if let ms = time(bwrap, args) {
                for id in ["container", "hardened-container", "userns-container"] { figures.startupMs[id] = ms }
                figures.notes.append("container start (bwrap --unshare-all /bin/true): \(ms) ms")
            } else {
                figures.notes.append("bwrap did not run; keeping the catalogue's container figures")
            }
        } else {
            figures.notes.append("bwrap not found; keeping the catalogue's container figures")
        }
        if let qemu = which("qemu-system-x86_64") {
            let kvm = FileManager.default.isWritableFile(atPath: "/dev/kvm")
            if !kvm {
                figures.notes.append("/dev/kvm is not usable; a TCG start says nothing about KVM, keeping the catalogue's VM figure")
            } else if let image = writeBootSector() {
                defer { try? FileManager.default.removeItem(at: image) }
                // A real guest start: firmware POST, boot from a one-sector disk whose code
                // writes to isa-debug-exit, which makes qemu exit with status (1 << 1) | 1.
                let args = ["-accel", "kvm", "-machine", "pc", "-m", "32", "-display", "none", "-nodefaults",
                            "-no-reboot", "-serial", "none", "-monitor", "none",
                            "-drive", "file=\(image.path),format=raw,if=ide",
                            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
                if let ms = time(qemu, args, expectedStatus: 3) {
                    figures.startupMs["vm"] = ms
                    figures.notes.append("VM start (qemu -accel kvm, firmware to first guest instruction to exit): \(ms) ms")
                } else {
                    figures.notes.append("the qemu test guest did not start and exit as expected; keeping the catalogue's VM figure")
                }
            } else {
                figures.notes.append("could not write the test boot sector; keeping the catalogue's VM figure")
            }
        } else {
            figures.notes.append("qemu-system-x86_64 not found; keeping the catalogue's VM figure")
        }
        return figures
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// x86 real mode: `mov al, 1; out 0xf4, al; hlt`, then the boot signature.
    static func writeBootSector() -> URL? {
        var sector = [UInt8](repeating: 0, count: 512)
        sector.replaceSubrange(0..<5, with: [0xB0, 0x01, 0xE6, 0xF4, 0xF4])
        sector[510] = 0x55
        sector[511] = 0xAA
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-measure-\(UUID().uuidString).img")
        do {
            try Data(sector).write(to: url)
            return url
        } catch {
            return nil
        }
    }

    static func time(_ executable: String, _ arguments: [String], expectedStatus: Int32 = 0) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = DispatchTime.now()
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        let elapsed = Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
        guard process.terminationStatus == expectedStatus else { return nil }
        return elapsed
    }
}

import Foundation

import CloisterPlacement

/// `--measure`: times one container-style start (bubblewrap with every namespace unshared,
/// running /bin/true) and one VM start (qemu with KVM if usable, else it says so, booting
/// nothing and exiting at once) on this host. Optional and simple by design: what cannot be
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
            // -no-reboot with no boot device: firmware runs, finds nothing and the VM exits.
            let args = ["-accel", kvm ? "kvm" : "tcg", "-machine", "q35", "-m", "64", "-display", "none",
                        "-nodefaults", "-no-reboot", "-boot", "strict=on", "-serial", "none", "-monitor", "none",
                        "-kernel", "/nonexistent-cloister-measure"]
            if kvm, let ms = time(qemu, args, acceptFailure: true) {
                figures.startupMs["vm"] = ms
                figures.notes.append("VM start (qemu -accel kvm, process start to exit): \(ms) ms")
            } else {
                figures.notes.append(kvm ? "qemu did not run; keeping the catalogue's VM figure"
                                         : "/dev/kvm is not usable; a TCG start says nothing about KVM, keeping the catalogue's VM figure")
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

    static func time(_ executable: String, _ arguments: [String], acceptFailure: Bool = false) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = DispatchTime.now()
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        let elapsed = Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
        guard acceptFailure || process.terminationStatus == 0 else { return nil }
        return elapsed
    }
}

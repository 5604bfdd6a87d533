import CloisterLaunchCore
import CloisterOCI
import CloisterSeccomp
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension LinuxSeccomp {
    /// What `cloister launch` loads when the target asks for a filter and names no profile:
    /// `DefaultSeccomp`'s list (shared with the fast path), EPERM for each call.
    public static let builtInDefault = LinuxSeccomp(
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [Syscall(names: DefaultSeccomp.deniedSyscalls, action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM))])
}

/// A seccomp filter compiled by libseccomp into a classic BPF program, ready for the kernel.
public struct SeccompFilter: Sendable {
    public var program: [UInt8]
    /// Syscall names in the profile that this architecture does not have (skipped, as runc does).
    public var unknownSyscalls: [String]

    /// Compiles `profile` with the compiler `cloister profile` uses (CloisterSeccomp), keeping
    /// launch's leniency for architectures this libseccomp does not know: they are skipped,
    /// the native one is always in.
    public static func compile(_ profile: LinuxSeccomp) throws -> SeccompFilter {
        var known = profile
        known.architectures = (profile.architectures ?? []).filter { SeccompCompiler.architecture($0) != nil }
        do {
            let compiled = try SeccompCompiler.compile(known)
            return SeccompFilter(program: compiled.program, unknownSyscalls: compiled.unknownNames)
        } catch {
            throw SeccompError(description: "the seccomp profile cannot be compiled: \(error)")
        }
    }

    /// Reads an OCI `linux.seccomp` object, or a whole OCI config.json holding one.
    public static func load(path: String) throws -> LinuxSeccomp {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SeccompError(description: "cannot read the seccomp profile \(path): \(error.localizedDescription)")
        }
        if let profile = try? JSONDecoder().decode(LinuxSeccomp.self, from: data) { return profile }
        if let config = try? JSONDecoder().decode(Spec.self, from: data), let profile = config.linux?.seccomp {
            return profile
        }
        do {
            return try JSONDecoder().decode(LinuxSeccomp.self, from: data)
        } catch {
            throw SeccompError(description: "\(path) is not an OCI seccomp profile (defaultAction, syscalls): \(error)")
        }
    }
}

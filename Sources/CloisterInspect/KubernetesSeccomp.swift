import CloisterModel
import CloisterOCI
import CloisterSystem
import Foundation

/// The seccomp profile a Kubernetes pod names, resolved as the kubelet resolves it and decoded
/// like an OCI `linux.seccomp`, so `check` of a pod says what its filter lets through.
///
/// - `Localhost`: the kubelet reads `<root-dir>/seccomp/<localhostProfile>` on the node (the
///   same JSON an OCI runtime reads) and hands it to the runtime. `check --seccomp-root DIR`
///   names that directory, default `/var/lib/kubelet/seccomp`. The manifest's path is hostile
///   data: an absolute path or a `..` (which the API server refuses) is not read, and the file
///   is opened beneath the root, so a symlink that leads out of it is refused, not followed.
/// - `RuntimeDefault`: the node's runtime chooses (containerd's and CRI-O's defaults differ,
///   and change between versions); a manifest does not say which runtime runs it, so the
///   surface is unknown, with why, rather than assumed.
public enum KubernetesSeccomp {
    /// The kubelet's seccomp directory with its default `--root-dir`.
    public static let defaultRoot = "/var/lib/kubelet/seccomp"
    /// Larger than any real profile (podman's default is 25 KiB); a bigger file is refused.
    static let sizeLimit = 4 << 20

    /// Decodes the profile `pod` names into `seccomp` (source `declared`), or says in `unknown` why not.
    public static func apply(
        _ pod: KubernetesPod, seccompRoot: String, decoder: SeccompFilterDecoder, to seccomp: inout Seccomp,
        unknown: inout [FieldPath: String]
    ) {
        switch pod.seccompProfileType {
        case "Localhost":
            guard let relative = pod.seccompLocalhostProfile, !relative.isEmpty else {
                SeccompFilterDecoder.markUnknown("seccompProfile type Localhost names no localhostProfile", &unknown)
                return
            }
            let shown = seccompRoot + "/" + relative
            if let refusal = refusal(relative) {
                SeccompFilterDecoder.markUnknown("localhostProfile \(relative.debugDescription) \(refusal); not read", &unknown)
                return
            }
            let bytes: [UInt8]
            do {
                bytes = try Files.readBeneath(root: seccompRoot, relative: relative, limit: sizeLimit)
            } catch let error as SystemError {
                SeccompFilterDecoder.markUnknown(readFailure(error, shown: shown, root: seccompRoot), &unknown)
                return
            } catch {
                SeccompFilterDecoder.markUnknown("\(shown) could not be read: \(error)", &unknown)
                return
            }
            let profile: LinuxSeccomp
            switch parse(bytes) {
            case .failure(let why):
                SeccompFilterDecoder.markUnknown("\(shown): \(why)", &unknown)
                return
            case .success(let parsed):
                profile = parsed
            }
            DeclaredSeccomp.apply(profile, file: shown, decoder: decoder, to: &seccomp, unknown: &unknown)
        case "RuntimeDefault":
            SeccompFilterDecoder.markUnknown(
                "seccompProfile RuntimeDefault is the node's container runtime's own default (containerd's and CRI-O's differ "
                    + "and change between versions); the manifest does not say which runtime runs it", &unknown)
        default:
            // A filter from the pre-1.25 annotations, or a type the mapping already refused.
            SeccompFilterDecoder.markUnknown(
                "the seccomp profile is named by an annotation (localhost/… or runtime/default), not decoded", &unknown)
        }
    }

    /// Why the API server would refuse `relative` as a localhostProfile (it must be a relative
    /// path without `..`), or nil.
    static func refusal(_ relative: String) -> String? {
        if relative.hasPrefix("/") { return "is absolute (the API server accepts only a path relative to the kubelet's seccomp directory)" }
        if relative.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            return "contains '..' (the API server refuses it)"
        }
        if relative.utf8.contains(0) { return "contains a NUL byte" }
        return nil
    }

    static func readFailure(_ error: SystemError, shown: String, root: String) -> String {
        switch error.errno {
        case ENOENT:
            return "\(shown) does not exist (the kubelet refuses to start a container whose Localhost profile is missing); pass --seccomp-root DIR for the node's seccomp directory"
        case EXDEV, ELOOP:
            return "\(shown) leads outside \(root) through a symlink; not followed"
        case EFBIG:
            return "\(shown) is larger than \(sizeLimit >> 20) MiB; not read"
        case EINVAL:
            return "\(shown) is not a regular file; not read"
        case ENOSYS:
            return "\(shown) not read: this kernel has no openat2 (Linux 5.6+) to read it without following symlinks out of \(root)"
        default:
            return "\(shown) could not be read: \(error)"
        }
    }

    #if arch(arm64)
    static let nativeArchitecture = "SCMP_ARCH_AARCH64"
    #else
    static let nativeArchitecture = "SCMP_ARCH_X86_64"
    #endif

    /// The profile, or why it is not one this reading can decode without guessing.
    static func parse(_ bytes: [UInt8]) -> Result<LinuxSeccomp, ProfileError> {
        let data = Data(bytes)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .failure(ProfileError("not a JSON object"))
        }
        // Docker's and containers-common's own profile format: entries apply or not by the
        // container's capabilities, architecture and kernel version (`includes`/`excludes`),
        // which the runtime decides when it loads the file, and not alike: moby's and
        // containerd's loaders have tested the effective set in some versions and the bounding
        // set in others, and `minKernel` reads the node's kernel. Reading them as plain rules
        // would grant every conditional call; not resolved here.
        let entries = object["syscalls"] as? [[String: Any]] ?? []
        if entries.contains(where: { $0["includes"] != nil || $0["excludes"] != nil }) {
            return .failure(ProfileError(
                "uses conditional entries (includes/excludes by capability, architecture or kernel), which the node's runtime resolves when it loads the profile (by the effective or the bounding set, depending on its version); not decoded"))
        }
        guard object["defaultAction"] != nil else { return .failure(ProfileError("has no defaultAction: not a seccomp profile")) }
        do {
            var profile = try JSONDecoder().decode(LinuxSeccomp.self, from: data)
            // `archMap` (Docker's format): the runtime takes the entry of the machine's own
            // architecture and adds it with its compat ones, as `architectures` would.
            if profile.architectures == nil, let archMap = object["archMap"] as? [[String: Any]],
                let native = archMap.first(where: { $0["architecture"] as? String == nativeArchitecture })
            {
                profile.architectures = [nativeArchitecture] + (native["subArchitectures"] as? [String] ?? [])
            }
            return .success(profile)
        } catch {
            return .failure(ProfileError("is not an OCI seccomp profile (defaultAction, architectures, syscalls): \(error)"))
        }
    }

    struct ProfileError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

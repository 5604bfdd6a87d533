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

    /// Decodes the profile `pod` names into `seccomp` (source `declared`), or says in `unknown` why
    /// not. A Docker-format profile's conditional entries are resolved for `conditions` (the
    /// container's bounding set); what was assumed to do so (an unknown kernel's `minKernel`) is
    /// returned, to be shown as a default.
    @discardableResult
    public static func apply(
        _ pod: KubernetesPod, seccompRoot: String, decoder: SeccompFilterDecoder,
        conditions: DockerSeccompProfile.Conditions = DockerSeccompProfile.Conditions(bounding: nil, kernel: nil),
        to seccomp: inout Seccomp, unknown: inout [FieldPath: String]
    ) -> String? {
        switch pod.seccompProfileType {
        case "Localhost":
            guard let relative = pod.seccompLocalhostProfile, !relative.isEmpty else {
                SeccompFilterDecoder.markUnknown("seccompProfile type Localhost names no localhostProfile", &unknown)
                return nil
            }
            let shown = seccompRoot + "/" + relative
            if let refusal = refusal(relative) {
                SeccompFilterDecoder.markUnknown("localhostProfile \(relative.debugDescription) \(refusal); not read", &unknown)
                return nil
            }
            let bytes: [UInt8]
            do {
                bytes = try Files.readBeneath(root: seccompRoot, relative: relative, limit: sizeLimit)
            } catch let error as SystemError {
                SeccompFilterDecoder.markUnknown(readFailure(error, shown: shown, root: seccompRoot), &unknown)
                return nil
            } catch {
                SeccompFilterDecoder.markUnknown("\(shown) could not be read: \(error)", &unknown)
                return nil
            }
            let profile: LinuxSeccomp
            let assumption: String?
            switch parse(bytes, conditions: conditions) {
            case .failure(let why):
                SeccompFilterDecoder.markUnknown("\(shown): \(why)", &unknown)
                return nil
            case .success(let parsed):
                profile = parsed.profile
                assumption = parsed.kernelAssumed.isEmpty ? nil
                    : "\(shown): entries conditioned on minKernel \(parsed.kernelAssumed.joined(separator: ", ")) are read as met "
                        + "(the engine compares the kernel of the node that loads the profile, which a checked file does not name)"
            }
            DeclaredSeccomp.apply(profile, file: shown, decoder: decoder, to: &seccomp, unknown: &unknown)
            return seccomp.source == .declared ? assumption : nil
        case "RuntimeDefault":
            SeccompFilterDecoder.markUnknown(
                "seccompProfile RuntimeDefault is the node's container runtime's own default (containerd's and CRI-O's differ "
                    + "and change between versions); the manifest does not say which runtime runs it", &unknown)
            return nil
        default:
            // A filter from the pre-1.25 annotations, or a type the mapping already refused.
            SeccompFilterDecoder.markUnknown(
                "the seccomp profile is named by an annotation (localhost/… or runtime/default), not decoded", &unknown)
            return nil
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

    /// The profile, or why it is not one this reading can decode without guessing. Docker's and
    /// containers-common's format conditions entries on the container's capabilities, the
    /// architecture and the kernel (`includes`/`excludes`): they are resolved as the engine
    /// resolves them (`DockerSeccompProfile`) for `conditions`, never read as plain rules.
    static func parse(
        _ bytes: [UInt8], conditions: DockerSeccompProfile.Conditions
    ) -> Result<(profile: LinuxSeccomp, kernelAssumed: [String]), ProfileError> {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            return .failure(ProfileError("not a JSON object"))
        }
        var kernelAssumed: [String] = []
        if DockerSeccompProfile.isConditional(object) {
            switch DockerSeccompProfile.resolve(object, for: conditions) {
            case .failure(let error):
                return .failure(ProfileError("uses conditional entries (includes/excludes) that cannot be resolved: \(error)"))
            case .success(let resolution):
                object = resolution.object
                kernelAssumed = resolution.kernelAssumed
            }
        }
        guard JSONSerialization.isValidJSONObject(object), let data = try? JSONSerialization.data(withJSONObject: object) else {
            return .failure(ProfileError("not a JSON object"))
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
            return .success((profile, kernelAssumed))
        } catch {
            return .failure(ProfileError("is not an OCI seccomp profile (defaultAction, architectures, syscalls): \(error)"))
        }
    }

    struct ProfileError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

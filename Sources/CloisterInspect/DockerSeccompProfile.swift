import Foundation

/// Docker's seccomp profile format (moby `profiles/seccomp`, also read by podman through
/// containers/common and by containerd's CRI for Localhost profiles) resolved the way the engine
/// resolves it before handing the runtime an OCI `linux.seccomp`: each `syscalls[]` entry applies
/// only where its `includes` hold and its `excludes` do not.
///
/// As moby's `setupSeccomp` reads them (profiles/seccomp/seccomp_linux.go, kernel_linux.go):
/// - `arches`: the engine's own architecture, in libseccomp's short names (`amd64`, `arm64`,
///   `x86`, `s390x`…); `includes.arches` needs it listed, `excludes.arches` skips the entry if it is.
/// - `caps`: the container's *bounding* set; `includes.caps` needs every one of them,
///   `excludes.caps` skips the entry if any of them is there.
/// - `minKernel` (`"4.8"`): the kernel of the host the engine runs on (uname's release, major and
///   minor compared); `includes.minKernel` needs the kernel at least that new, `excludes.minKernel`
///   skips the entry on such a kernel. An unparsable one fails the whole profile, as in moby.
/// - `name` and `names` both given fail the profile.
public enum DockerSeccompProfile {
    /// What the conditions are tested against.
    public struct Conditions: Sendable, Equatable {
        /// The container's bounding set (`CAP_*`); nil when it is not known.
        public var bounding: Set<String>?
        /// The engine's architecture in moby's naming (`amd64`).
        public var architecture: String
        /// The kernel the profile is loaded on; nil when it is not known (a file checked before
        /// deployment): every `minKernel` is then read as met, and the resolution says which.
        public var kernel: KernelVersion?

        public init(bounding: Set<String>?, architecture: String = DockerSeccompProfile.nativeArchitecture, kernel: KernelVersion?) {
            self.bounding = bounding
            self.architecture = architecture
            self.kernel = kernel
        }
    }

    /// `major.minor`, as moby compares kernels.
    public struct KernelVersion: Sendable, Equatable, Comparable {
        public var major: Int
        public var minor: Int

        public init(major: Int, minor: Int) {
            self.major = major
            self.minor = minor
        }

        /// Parses the leading `N.M` of a release (`6.1.0-18-amd64`, `4.8`); nil when there is none.
        public init?(release: String) {
            let parts = release.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let major = Int(parts[0]) else { return nil }
            let minorDigits = parts[1].prefix { $0.isNumber }
            guard !minorDigits.isEmpty, let minor = Int(minorDigits) else { return nil }
            self.init(major: major, minor: minor)
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
        public var description: String { "\(major).\(minor)" }
    }

    public struct Resolution {
        /// The profile with only the entries that apply, their conditions removed.
        public var object: [String: Any]
        /// How many entries were dropped by their conditions.
        public var dropped: Int
        /// The `minKernel` values read as met because the kernel is not known.
        public var kernelAssumed: [String]
    }

    public struct ResolutionError: Error, CustomStringConvertible {
        public let description: String
    }

    #if arch(arm64)
    public static let nativeArchitecture = "arm64"
    #else
    public static let nativeArchitecture = "amd64"
    #endif

    /// True when some entry carries `includes` or `excludes`.
    public static func isConditional(_ object: [String: Any]) -> Bool {
        (object["syscalls"] as? [[String: Any]] ?? []).contains { $0["includes"] != nil || $0["excludes"] != nil }
    }

    public static func resolve(_ object: [String: Any], for conditions: Conditions) -> Result<Resolution, ResolutionError> {
        let entries = object["syscalls"] as? [[String: Any]] ?? []
        var kept: [[String: Any]] = []
        var dropped = 0
        var assumed: [String] = []
        for (index, entry) in entries.enumerated() {
            let includes = entry["includes"] as? [String: Any] ?? [:]
            let excludes = entry["excludes"] as? [String: Any] ?? [:]
            func strings(_ filter: [String: Any], _ key: String) -> [String] { filter[key] as? [String] ?? [] }
            /// nil: the kernel is unknown and the entry names this minKernel (read as met).
            func kernelAtLeast(_ filter: [String: Any]) -> Result<Bool?, ResolutionError> {
                guard let text = filter["minKernel"] as? String, !text.isEmpty else { return .success(nil) }
                guard let wanted = KernelVersion(release: text) else {
                    return .failure(ResolutionError(description: "syscalls[\(index)]: minKernel \(text.debugDescription) is not a kernel version (moby refuses the profile)"))
                }
                guard let kernel = conditions.kernel else {
                    if !assumed.contains(text) { assumed.append(text) }
                    return .success(true)
                }
                return .success(kernel >= wanted)
            }
            if entry["name"] as? String != nil, let names = entry["names"] as? [String], !names.isEmpty {
                return .failure(ResolutionError(description: "syscalls[\(index)]: both name and names are given (moby refuses the profile)"))
            }
            let capsNamed = !strings(includes, "caps").isEmpty || !strings(excludes, "caps").isEmpty
            if capsNamed, conditions.bounding == nil {
                return .failure(ResolutionError(
                    description: "syscalls[\(index)] applies by capability (includes/excludes caps) and the container's bounding set is not known"))
            }
            let bounding = conditions.bounding ?? []
            var applies = true
            if strings(excludes, "arches").contains(conditions.architecture) { applies = false }
            if strings(excludes, "caps").contains(where: bounding.contains) { applies = false }
            switch kernelAtLeast(excludes) {
            case .failure(let error): return .failure(error)
            case .success(let atLeast): if atLeast == true { applies = false }
            }
            let includedArches = strings(includes, "arches")
            if !includedArches.isEmpty, !includedArches.contains(conditions.architecture) { applies = false }
            if !strings(includes, "caps").allSatisfy(bounding.contains) { applies = false }
            switch kernelAtLeast(includes) {
            case .failure(let error): return .failure(error)
            case .success(let atLeast): if atLeast == false { applies = false }
            }
            guard applies else {
                dropped += 1
                continue
            }
            var plain = entry
            plain.removeValue(forKey: "includes")
            plain.removeValue(forKey: "excludes")
            plain.removeValue(forKey: "comment")
            if let name = plain.removeValue(forKey: "name") as? String { plain["names"] = [name] }
            kept.append(plain)
        }
        var resolved = object
        resolved["syscalls"] = kept
        return .success(Resolution(object: resolved, dropped: dropped, kernelAssumed: assumed))
    }
}

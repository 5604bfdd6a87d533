import CloisterBPF
import CloisterModel
import CloisterOCI
import CloisterSeccomp
import CloisterSystem
import Foundation

/// libseccomp's system-call names for the x86 entry points, asked once a process.
public enum SeccompNames {
    public static let x86: SyscallNames = {
        var names: [SeccompArchitecture: [UInt32: String]] = [:]
        for architecture in SeccompArchitecture.allCases {
            names[architecture] = SeccompLibrary.syscallNames(
                architecture: architecture.rawValue, base: architecture.numberBase, count: SeccompTable.numberLimit)
        }
        return SyscallNames(names: names)
    }()

    /// The numbers named on each architecture: the ones worth evaluating.
    public static let numbers: [SeccompArchitecture: Set<UInt32>] = x86.names.mapValues { Set($0.keys) }
}

/// Decodes filter stacks, each distinct one once: most workloads of a host share the runtime's
/// default profile, so a scan of hundreds of containers decodes one or two. Shared by the
/// scan's parallel workers.
public final class SeccompFilterDecoder: @unchecked Sendable {
    public struct Decoded: Sendable {
        public var syscalls: [SeccompSyscalls]
        public var reachable: SeccompReachable
    }

    private let lock = NSLock()
    private var cache: [[[UInt8]]: Result<Decoded, SeccompProgramError>] = [:]

    public init() {}

    /// The decoded stack (programs most recent first), or why the kernel's bytes are not a
    /// program it would have run.
    public func decode(_ programs: [[UInt8]]) -> Result<Decoded, SeccompProgramError> {
        // Held through the decode: workers that meet the same stack at once (every container
        // of a host starts together with the runtime's default) wait for the one decode
        // instead of each repeating it.
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[programs] { return known }
        let result: Result<Decoded, SeccompProgramError>
        do {
            let parsed = try programs.map { bytes throws(SeccompProgramError) in try SeccompProgram(bytes: bytes) }
            let names = SeccompNames.x86
            let table = SeccompEvaluator.table(parsed, numbers: SeccompNames.numbers)
            result = .success(
                Decoded(syscalls: SeccompSurface.syscalls(table, names: names), reachable: SeccompSurface.reachable(table, names: names)))
        } catch {
            result = .failure(error)
        }
        cache[programs] = result
        return result
    }

    /// Reads and decodes the filters of every filtered thread of `pid` into `seccomp`. The
    /// syscall lists are the leader's; `reachable` is the weakest over the threads (a group one
    /// thread may call is reachable). What cannot be read goes to `unknown` with why.
    func apply(pid: Int, root: HostRoot, to seccomp: inout Seccomp, unknown: inout [FieldPath: String]) {
        let taskDirectory = root.pid(pid) + "/task"
        var tids = ((try? Files.list(taskDirectory)) ?? []).compactMap { Int32($0) }.sorted()
        if tids.isEmpty { tids = [Int32(pid)] }
        var leaderDecoded: Decoded?
        var reaches: [SeccompReachable] = []
        var seen: Set<[[UInt8]]> = []
        for tid in tids.prefix(4096) {
            guard let status = try? Files.readText("\(taskDirectory)/\(tid)/status", limit: 64 << 10) else { continue }
            let parsed = ProcStatus.parse(status)
            guard parsed.seccompMode == .filter else { continue }
            let tracer = Self.tracerPID(status)
            switch SeccompFilterReader.read(thread: tid, tracerPID: tracer) {
            case .unknown(let why):
                Self.markUnknown(why, &unknown)
                return
            case .filters(let programs):
                guard seen.insert(programs).inserted || tid == Int32(pid) else { continue }
                switch decode(programs) {
                case .failure(let error):
                    Self.markUnknown("thread \(tid)'s filter is not a program the kernel would run: \(error)", &unknown)
                    return
                case .success(let decoded):
                    if tid == Int32(pid) { leaderDecoded = decoded }
                    reaches.append(decoded.reachable)
                }
            }
        }
        guard let first = reaches.first else {
            Self.markUnknown("no filtered thread of PID \(pid) could be read", &unknown)
            return
        }
        var reachable = first
        for other in reaches.dropFirst() {
            for (_, path) in SeccompReachable.groups {
                reachable[keyPath: path] = SeccompSurface.weakest([reachable[keyPath: path], other[keyPath: path]])
            }
        }
        seccomp.source = .kernel
        seccomp.syscalls = leaderDecoded?.syscalls
        if leaderDecoded == nil { unknown["seccomp.syscalls"] = "the leading thread of PID \(pid) has no filter of its own" }
        seccomp.reachable = reachable
    }

    static func markUnknown(_ why: String, _ unknown: inout [FieldPath: String]) {
        unknown["seccomp.syscalls"] = why
        unknown["seccomp.reachable"] = why
    }

    static func tracerPID(_ status: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix("TracerPid:") {
            return Int(line.dropFirst("TracerPid:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}

/// The declared side: a profile an OCI configuration gives (`linux.seccomp`) compiled with
/// libseccomp, as runc and crun compile it, and decoded by the same evaluator as a filter read
/// from the kernel, so live and declared are the same fields computed the same way (rather than
/// a second reading of the profile's rules, which could disagree with libseccomp on rule order,
/// argument chains and unknown names).
public enum DeclaredSeccomp {
    /// `linux.seccomp` of a config.json's text; nil when it has none or is not one.
    public static func profile(configText: String) -> LinuxSeccomp? {
        (try? JSONDecoder().decode(Spec.self, from: Data(configText.utf8)))?.linux?.seccomp
    }

    /// Compiles and decodes `profile` into `seccomp` (source `declared`), or says in `unknown` why not.
    public static func apply(
        _ profile: LinuxSeccomp, file: String, decoder: SeccompFilterDecoder, to seccomp: inout Seccomp,
        unknown: inout [FieldPath: String]
    ) {
        let compiled: SeccompCompiler.Compiled
        do {
            compiled = try SeccompCompiler.compile(profile)
        } catch {
            SeccompFilterDecoder.markUnknown("\(file): linux.seccomp does not compile with libseccomp: \(error)", &unknown)
            return
        }
        switch decoder.decode([compiled.program]) {
        case .failure(let error):
            SeccompFilterDecoder.markUnknown("\(file): libseccomp's program for linux.seccomp is refused: \(error)", &unknown)
        case .success(let decoded):
            seccomp.source = .declared
            seccomp.syscalls = decoded.syscalls
            seccomp.reachable = decoded.reachable
        }
    }

    /// For `check`: every posture read from an OCI config.json (`oci:FILE`) that declares a
    /// filter gets the decoded fields; the file is read again for its `linux.seccomp`. A
    /// Kubernetes container's profile is resolved under `seccompRoot` (`KubernetesSeccomp`).
    public static func decodeDeclared(_ postures: inout [Posture], seccompRoot: String = KubernetesSeccomp.defaultRoot) {
        let decoder = SeccompFilterDecoder()
        for index in postures.indices {
            let posture = postures[index]
            if let pod = posture.kubernetes, var seccomp = posture.seccomp, seccomp.mode == .filter {
                var unknown = posture.unknown
                // The engine tests a profile's capability conditions against the container's
                // bounding set; the kernel is the node's, which a checked file does not name.
                let boundingKnown = !posture.unknown.keys.contains { $0.absolute.hasPrefix("capabilities") }
                let conditions = DockerSeccompProfile.Conditions(
                    bounding: boundingKnown ? Set(posture.capabilities.bounding) : nil, kernel: nil)
                let assumption = KubernetesSeccomp.apply(
                    pod, seccompRoot: seccompRoot, decoder: decoder, conditions: conditions, to: &seccomp, unknown: &unknown)
                postures[index].seccomp = seccomp
                postures[index].unknown = unknown
                if let assumption {
                    // Said as a default: a value cloister chose, with why, not one the file declared.
                    if !postures[index].defaulted.contains("seccomp.syscalls") { postures[index].defaulted.append("seccomp.syscalls") }
                    postures[index].defaultSources = (postures[index].defaultSources ?? [:]).merging(["seccomp.syscalls": assumption]) { $1 }
                }
                continue
            }
            guard posture.id.hasPrefix("oci:"), var seccomp = posture.seccomp, seccomp.mode == .filter else { continue }
            let file = String(posture.id.dropFirst("oci:".count))
            var unknown = posture.unknown
            if let text = try? Files.readText(file, limit: 8 << 20), let profile = profile(configText: text) {
                apply(profile, file: file, decoder: decoder, to: &seccomp, unknown: &unknown)
            } else {
                SeccompFilterDecoder.markUnknown("\(file) could not be read again for its linux.seccomp", &unknown)
            }
            postures[index].seccomp = seccomp
            postures[index].unknown = unknown
        }
    }
}

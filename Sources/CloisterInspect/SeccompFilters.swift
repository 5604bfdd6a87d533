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

/// A stack of filters as the kernel returned it (most recent first), hashed once: a stack of
/// podman's default is 9 KB, and each container's copy is looked up in the decoder's cache and
/// in the threads already seen, so hashing it byte by byte each time cost more than reading it.
struct FilterStack: Hashable, Sendable {
    let programs: [[UInt8]]
    let digest: UInt64

    init(_ programs: [[UInt8]]) {
        self.programs = programs
        // FNV-1a over 8-byte words, the program lengths mixed in: equal stacks give equal
        // digests; unequal ones are told apart by `==`, which compares the bytes.
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for program in programs {
            digest = (digest ^ UInt64(program.count)) &* 0x0000_0100_0000_01b3
            program.withUnsafeBytes { raw in
                let words = raw.count / 8
                for index in 0..<words {
                    digest = (digest ^ raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) &* 0x0000_0100_0000_01b3
                }
                for index in (words * 8)..<raw.count { digest = (digest ^ UInt64(raw[index])) &* 0x0000_0100_0000_01b3 }
            }
        }
        self.digest = digest
    }

    static func == (lhs: FilterStack, rhs: FilterStack) -> Bool {
        guard lhs.digest == rhs.digest, lhs.programs.count == rhs.programs.count else { return false }
        // memcmp per program: Array<UInt8>'s == compares element by element.
        for (left, right) in zip(lhs.programs, rhs.programs) {
            guard left.count == right.count else { return false }
            let same = left.withUnsafeBytes { a in
                right.withUnsafeBytes { b in
                    guard let first = a.baseAddress, let second = b.baseAddress else { return a.count == b.count }
                    return memcmp(first, second, a.count) == 0
                }
            }
            if !same { return false }
        }
        return true
    }
    func hash(into hasher: inout Hasher) { hasher.combine(digest) }
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
    private var cache: [FilterStack: Result<Decoded, SeccompProgramError>] = [:]
    private let prefetchLock = NSLock()
    private var prefetched: [Int32: SeccompFilterReader.Outcome] = [:]

    public init() {}

    /// Distinct stacks kept decoded; a host rarely runs more than a handful.
    static let stacksKept = 64

    /// Reads ahead the filters of the single-threaded filtered leaders among `leaders` (most
    /// containers' PID 1), a batch of interrupts at a time on every core, for `apply` to take:
    /// the stops of a batch are waited for together (see `SeccompFilterReader.read(threads:)`).
    /// Leaders with more threads are read by `apply`, thread by thread.
    func prefetch(_ leaders: [(pid: Int, status: ProcStatus)]) {
        // What an earlier scan read ahead and did not use is never taken for a later one (its
        // PID may be another process's by now).
        prefetchLock.withLock { prefetched.removeAll() }
        let threads = leaders.compactMap { leader -> (tid: Int32, tracerPID: Int)? in
            guard leader.status.seccompMode == .filter, let tracer = leader.status.singleThreadTracer,
                let tid = Int32(exactly: leader.pid)
            else { return nil }
            return (tid, tracer)
        }
        guard !threads.isEmpty else { return }
        // One batch of interrupts per task, the tasks spread over the cores.
        let batch = SeccompFilterReader.batch
        let batches = stride(from: 0, to: threads.count, by: batch).map { Array(threads[$0..<min(threads.count, $0 + batch)]) }
        let outcomes = Parallel.map(batches) { SeccompFilterReader.read(threads: $0) }
        var read: [Int32: SeccompFilterReader.Outcome] = [:]
        for (group, results) in zip(batches, outcomes) {
            for (thread, outcome) in zip(group, results) { read[thread.tid] = outcome }
        }
        prefetchLock.withLock { prefetched = read }
    }

    /// A filter read ahead for `tid`, once.
    private func takePrefetched(_ tid: Int32) -> SeccompFilterReader.Outcome? {
        prefetchLock.withLock { prefetched.removeValue(forKey: tid) }
    }

    /// The decoded stack (programs most recent first), or why the kernel's bytes are not a
    /// program it would have run.
    public func decode(_ programs: [[UInt8]]) -> Result<Decoded, SeccompProgramError> {
        decode(FilterStack(programs))
    }

    func decode(_ stack: FilterStack) -> Result<Decoded, SeccompProgramError> {
        // Held through the decode: workers that meet the same stack at once (every container
        // of a host starts together with the runtime's default) wait for the one decode
        // instead of each repeating it.
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[stack] { return known }
        // A long-running serve meets new stacks as workloads come and go: keep the recent ones.
        if cache.count >= Self.stacksKept { cache.removeAll() }
        let result: Result<Decoded, SeccompProgramError>
        do {
            let parsed = try stack.programs.map { bytes throws(SeccompProgramError) in try SeccompProgram(bytes: bytes) }
            let names = SeccompNames.x86
            let table = SeccompEvaluator.table(parsed, numbers: SeccompNames.numbers)
            result = .success(
                Decoded(syscalls: SeccompSurface.syscalls(table, names: names), reachable: SeccompSurface.reachable(table, names: names)))
        } catch {
            result = .failure(error)
        }
        cache[stack] = result
        return result
    }

    /// Reads and decodes the filters of every filtered thread of `pid` into `seccomp`. The
    /// syscall lists are the leader's; `reachable` is the weakest over the threads (a group one
    /// thread may call is reachable). What cannot be read goes to `unknown` with why.
    /// `leaderStatus` is the leader's status as the process table read it: a single-threaded
    /// process (most containers' PID 1) is not listed or read again.
    func apply(
        pid: Int, leaderStatus: ProcStatus? = nil, root: HostRoot, to seccomp: inout Seccomp, unknown: inout [FieldPath: String]
    ) {
        var threads: [(tid: Int32, status: ProcStatus)] = []
        if let leaderStatus, leaderStatus.singleThreadTracer != nil {
            threads = [(Int32(pid), leaderStatus)]
        } else {
            let taskDirectory = root.pid(pid) + "/task"
            var tids = ((try? Files.list(taskDirectory)) ?? []).compactMap { Int32($0) }.sorted()
            if tids.isEmpty { tids = [Int32(pid)] }
            for tid in tids.prefix(4096) {
                guard let bytes = try? Files.read("\(taskDirectory)/\(tid)/status", limit: 64 << 10) else { continue }
                threads.append((tid, bytes.withUnsafeBufferPointer { ProcStatus.parse(bytes: $0) }))
            }
        }
        var leaderDecoded: Decoded?
        var reaches: [SeccompReachable] = []
        var seen: Set<FilterStack> = []
        for (tid, status) in threads {
            guard status.seccompMode == .filter else { continue }
            let outcome = threads.count == 1 ? takePrefetched(tid) : nil
            switch outcome ?? SeccompFilterReader.read(thread: tid, tracerPID: status.tracerPID ?? 0) {
            case .unknown(let why):
                Self.markUnknown(why, &unknown)
                return
            case .filters(let programs):
                let stack = FilterStack(programs)
                guard seen.insert(stack).inserted || tid == Int32(pid) else { continue }
                switch decode(stack) {
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

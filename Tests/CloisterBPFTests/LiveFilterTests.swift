import CloisterBPF
import CloisterModel
import CloisterOCI
import CloisterSeccomp
import CloisterSystem
import Foundation
import Testing

/// The filter read back from a running process with PTRACE_SECCOMP_GET_FILTER, and the process
/// left as it was.
@Suite(
    "Live seccomp filter reading", .serialized,
    .enabled(if: geteuid() == 0, "PTRACE_SECCOMP_GET_FILTER needs root with CAP_SYS_ADMIN"))
struct LiveFilterTests {
    /// Lets a shell loop run; refuses io_uring and the keyring calls, allows personality(0) only.
    static let profile = LinuxSeccomp(
        defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        syscalls: [
            .init(names: ["io_uring_setup", "keyctl", "add_key", "request_key"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
            .init(names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [.init(index: 0, value: 0, op: "SCMP_CMP_NE")]),
        ])

    /// A shell that writes a growing counter every 20 ms, under `program`.
    final class Looper {
        let pid: pid_t
        let counter: String

        init(program: [UInt8]) throws {
            counter = NSTemporaryDirectory() + "cloister-live-filter-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            pid = try FilteredProcess.start(
                ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > \(counter); sleep 0.02; done"], program: program)
        }

        var count: Int { (try? String(contentsOfFile: counter, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0 }

        /// The state letter of /proc/PID/stat (R running, S sleeping, t traced, …).
        var state: String? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
        }

        var tracerPID: Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("TracerPid:") } ?? ""
            return Int(line.dropFirst("TracerPid:".count).trimmingCharacters(in: .whitespaces)) ?? -1
        }

        func waitForCount(above value: Int) -> Bool {
            for _ in 0..<200 {
                if count > value { return true }
                usleep(10_000)
            }
            return false
        }

        deinit {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            unlink(counter)
        }
    }

    @Test("The kernel hands back the program installed, byte for byte, and the process runs on")
    func readsTheInstalledProgram() throws {
        let compiled = try SeccompCompiler.compile(Self.profile)
        let looper = try Looper(program: compiled.program)
        #expect(looper.waitForCount(above: 2), "the shell loop never ran")

        let outcome = SeccompFilterReader.read(thread: looper.pid, tracerPID: looper.tracerPID)
        guard case .filters(let programs) = outcome else {
            Issue.record("not read: \(outcome)")
            return
        }
        #expect(programs == [compiled.program])

        // Detached: not traced, running or sleeping, and still doing its work.
        #expect(looper.tracerPID == 0)
        #expect(["R", "S"].contains(looper.state ?? "?"), "state \(looper.state ?? "none")")
        let before = looper.count
        #expect(looper.waitForCount(above: before + 3), "the loop stopped after the read")

        let table = SeccompEvaluator.table(try programs.map { try SeccompProgram(bytes: $0) })
        let reachable = SeccompSurface.reachable(table, names: libseccompNames)
        #expect(reachable.ioUring == .denied)
        #expect(reachable.keyctl == .denied)
        #expect(reachable.personality == .conditional)
        #expect(reachable.mount == .allowed)
        #expect(reachable.compat32 == .allowed)
    }

    @Test("Reading many times in a row leaves the loop running")
    func repeatedReads() throws {
        let compiled = try SeccompCompiler.compile(Self.profile)
        let looper = try Looper(program: compiled.program)
        #expect(looper.waitForCount(above: 1))
        for _ in 0..<50 {
            let outcome = SeccompFilterReader.read(thread: looper.pid, tracerPID: looper.tracerPID)
            #expect(outcome == .filters([compiled.program]))
        }
        let before = looper.count
        #expect(looper.waitForCount(above: before + 3), "the loop stopped after the reads")
        #expect(looper.tracerPID == 0)
    }

    @Test("A thread another tracer holds is not touched; a gone thread is unknown with why")
    func tracedAndGone() throws {
        let compiled = try SeccompCompiler.compile(Self.profile)
        let looper = try Looper(program: compiled.program)
        let outcome = SeccompFilterReader.read(thread: looper.pid, tracerPID: 4242)
        guard case .unknown(let why) = outcome else {
            Issue.record("read a traced thread: \(outcome)")
            return
        }
        #expect(why.contains("traced by PID 4242"))

        let gone = SeccompFilterReader.read(thread: Int32.max - 1, tracerPID: 0)
        guard case .unknown(let reason) = gone else {
            Issue.record("read a thread that does not exist: \(gone)")
            return
        }
        #expect(reason.contains("PTRACE_SEIZE") && reason.contains("errno 3"), "\(reason)")
    }

    @Test("Read a batch at a time: each thread's own program, in order; the traced and the gone refused; every one detached")
    func batchedReads() throws {
        let loose = try SeccompCompiler.compile(Self.profile)
        let strict = try SeccompCompiler.compile(
            LinuxSeccomp(
                defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
                syscalls: [.init(names: ["mount", "bpf"], action: "SCMP_ACT_ERRNO", errnoRet: 1)]))
        let loopers = try (0..<5).map { try Looper(program: $0 % 2 == 0 ? loose.program : strict.program) }
        for looper in loopers { #expect(looper.waitForCount(above: 1), "a shell loop never ran") }
        var threads = loopers.map { (tid: $0.pid, tracerPID: $0.tracerPID) }
        threads.insert((tid: Int32.max - 1, tracerPID: 0), at: 2)
        threads.append((tid: loopers[0].pid, tracerPID: 4242))
        // Batches of two: the batch boundaries fall between and across the refused ones.
        let outcomes = SeccompFilterReader.read(threads: threads, batch: 2)
        #expect(outcomes.count == threads.count)
        var looperIndex = 0
        for (index, outcome) in outcomes.enumerated() {
            switch index {
            case 2:
                guard case .unknown(let why) = outcome else { Issue.record("read a gone thread: \(outcome)"); continue }
                #expect(why.contains("PTRACE_SEIZE") && why.contains("errno 3"), "\(why)")
            case threads.count - 1:
                guard case .unknown(let why) = outcome else { Issue.record("read a traced thread: \(outcome)"); continue }
                #expect(why.contains("traced by PID 4242"))
            default:
                #expect(outcome == .filters([looperIndex % 2 == 0 ? loose.program : strict.program]), "looper \(looperIndex)")
                looperIndex += 1
            }
        }
        for looper in loopers {
            #expect(looper.tracerPID == 0, "left attached")
            let before = looper.count
            #expect(looper.waitForCount(above: before + 2), "a loop stopped after the batched read")
        }
    }
}

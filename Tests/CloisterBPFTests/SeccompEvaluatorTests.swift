@testable import CloisterBPF
import CloisterModel
import CloisterOCI
import CloisterSeccomp
import CloisterSystem
import Testing

/// libseccomp's names for the three x86 entry points, as the OS layer hands them over.
let libseccompNames: SyscallNames = {
    var names: [SeccompArchitecture: [UInt32: String]] = [:]
    for architecture in SeccompArchitecture.allCases {
        names[architecture] = SeccompLibrary.syscallNames(
            architecture: architecture.rawValue, base: architecture.numberBase, count: SeccompTable.numberLimit)
    }
    return SyscallNames(names: names)
}()

func compiled(_ profile: LinuxSeccomp) throws -> SeccompProgram {
    try SeccompProgram(bytes: SeccompCompiler.compile(profile).program)
}

func number(_ name: String, _ architecture: SeccompArchitecture = .x86_64) throws -> UInt32 {
    try #require(libseccompNames.number(name, on: architecture), "libseccomp has no \(name) on \(architecture)")
}

/// A profile as container runtimes write them: an ERRNO default, an allow list, an argument
/// filter on personality and clone (Docker's and podman's shape), a kill.
let sampleProfile = LinuxSeccomp(
    defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
        .init(names: ["read", "write", "exit_group", "openat", "close", "io_uring_setup", "unshare"], action: "SCMP_ACT_ALLOW"),
        .init(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 0, op: "SCMP_CMP_EQ")]),
        .init(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 8, op: "SCMP_CMP_EQ")]),
        .init(
            names: ["clone"], action: "SCMP_ACT_ALLOW",
            args: [.init(index: 0, value: 0x7e02_0000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]),
        .init(names: ["ptrace"], action: "SCMP_ACT_KILL_PROCESS"),
        .init(names: ["getpid"], action: "SCMP_ACT_LOG"),
        .init(names: ["bpf"], action: "SCMP_ACT_ERRNO", errnoRet: 38),
    ])

@Suite("Seccomp BPF evaluator")
struct SeccompEvaluatorTests {
    @Test("libseccomp's program decodes to what the profile says, call by call, on every architecture")
    func decodesTheProfile() throws {
        let program = try compiled(sampleProfile)
        let table = SeccompEvaluator.table([program])
        for architecture in SeccompArchitecture.allCases {
            #expect(table.decision(architecture, try number("read", architecture)) == .action(.allow))
            #expect(table.decision(architecture, try number("getpid", architecture)) == .action(SeccompAction(raw: 0x7ffc_0000)))
            #expect(table.decision(architecture, try number("ptrace", architecture)) == .action(.killProcess))
            #expect(table.decision(architecture, try number("bpf", architecture)) == .action(.errno(38)))
            #expect(table.decision(architecture, try number("mount", architecture)) == .action(.errno(1)))
        }
        // personality(0) and personality(8) run, anything else gets the default.
        let personality = try #require(table.decision(.x86_64, try number("personality")))
        guard case .conditional(let cases, let complete) = personality else {
            Issue.record("personality is \(personality), not conditional")
            return
        }
        #expect(complete)
        #expect(Set(cases.map(\.action)) == [.allow, .errno(1)])
        #expect(cases.contains { $0.action == .allow && $0.tests.contains("args[0] low word == 0x8") })
        #expect(SeccompSurface.reach(personality) == .conditional)

        // clone runs only without namespace flags: the mask's test is in the allowed case.
        let clone = try #require(table.decision(.x86_64, try number("clone")))
        guard case .conditional(let cloneCases, _) = clone else {
            Issue.record("clone is \(clone), not conditional")
            return
        }
        #expect(cloneCases.contains { $0.action == .allow && $0.tests.contains { $0.contains("0x7e020000") } })
    }

    @Test("Every named call's reach matches the profile's rules")
    func everyCallMatchesTheProfile() throws {
        let table = SeccompEvaluator.table([try compiled(sampleProfile)])
        let syscalls = SeccompSurface.syscalls(table, names: libseccompNames)
        let native = try #require(syscalls.first { $0.architecture == "x86_64" })
        #expect(
            Set(native.allowedCalls) == ["read", "write", "exit_group", "openat", "close", "io_uring_setup", "unshare", "getpid"])
        #expect(native.conditionalCalls.map(\.name).sorted() == ["clone", "personality"])
        #expect(native.undecided == nil)
        #expect(native.allowed + native.denied + native.conditional == libseccompNames.names[.x86_64]?.count)
        #expect(native.deniedCalls.contains("ptrace") && native.deniedCalls.contains("mount"))
        #expect(syscalls.map(\.architecture) == ["x86_64", "x86", "x32"])

        let reachable = SeccompSurface.reachable(table, names: libseccompNames)
        #expect(reachable.ioUring == .allowed)
        #expect(reachable.namespaceCreation == .allowed)  // unshare is allowed
        #expect(reachable.personality == .conditional)
        #expect(reachable.ptrace == .denied)
        #expect(reachable.bpf == .denied)
        #expect(reachable.mount == .denied)
        #expect(reachable.keyctl == .denied)
        #expect(reachable.compat32 == .allowed)
    }

    @Test("A native-only profile refuses the 32-bit entry points; clone alone is conditional")
    func nativeOnly() throws {
        var profile = sampleProfile
        profile.architectures = ["SCMP_ARCH_X86_64"]
        profile.syscalls = profile.syscalls?.map { rule in
            var rule = rule
            rule.names.removeAll { $0 == "unshare" }
            return rule
        }
        let table = SeccompEvaluator.table([try compiled(profile)])
        let reachable = SeccompSurface.reachable(table, names: libseccompNames)
        #expect(reachable.compat32 == .denied)
        #expect(reachable.namespaceCreation == .conditional)
        #expect(table.decision(.x86, try number("read", .x86)).map(SeccompSurface.reach) == .denied)
        // x32 numbers arrive with AUDIT_ARCH_X86_64: libseccomp refuses them in its native filter.
        #expect(table.decision(.x32, try number("read", .x32)).map(SeccompSurface.reach) == .denied)
    }

    @Test("Stacked filters: the action of highest precedence wins, as the kernel runs them")
    func stackedFilters() throws {
        let allowAll = LinuxSeccomp(
            defaultAction: "SCMP_ACT_ALLOW", syscalls: [.init(names: ["getpid"], action: "SCMP_ACT_KILL_PROCESS")])
        let errnoForPtrace = LinuxSeccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [
                .init(names: ["ptrace"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
                .init(names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 2),
            ])
        let table = SeccompEvaluator.table([try compiled(errnoForPtrace), try compiled(allowAll)])
        #expect(table.decision(.x86_64, try number("getpid")) == .action(.killProcess))
        #expect(table.decision(.x86_64, try number("ptrace")) == .action(.errno(1)))
        #expect(table.decision(.x86_64, try number("read")) == .action(.allow))
        // A conditional call under an unconditional kill is killed.
        let combined = SeccompEvaluator.combine([
            .conditional([SeccompCase(tests: ["a"], action: .allow), SeccompCase(tests: ["b"], action: .errno(1))], complete: true),
            .action(.killProcess),
        ])
        #expect(combined == .action(.killProcess))
    }

    @Test("ALU, scratch memory, TAX and RET A run as classic BPF does")
    func interpreter() throws {
        let program = try SeccompProgram(validating: [
            BPFInstruction(code: 0x20, k: 0),  // A = nr
            BPFInstruction(code: 0x04, k: 5),  // A += 5
            BPFInstruction(code: 0x02, k: 3),  // mem[3] = A
            BPFInstruction(code: 0x07),  // X = A
            BPFInstruction(code: 0x00, k: 0x0005_0000),  // A = ERRNO(0)
            BPFInstruction(code: 0x61, k: 3),  // X = mem[3]
            BPFInstruction(code: 0x0c),  // A += X
            BPFInstruction(code: 0x16),  // return A
        ])
        #expect(SeccompEvaluator.decide(program, architecture: 0xc000_003e, number: 7) == .action(.errno(12)))
        // Division by a zero register ends the program with 0: KILL_THREAD.
        let divide = try SeccompProgram(validating: [
            BPFInstruction(code: 0x00, k: 10), BPFInstruction(code: 0x3c), BPFInstruction(code: 0x16),
        ])
        #expect(SeccompEvaluator.decide(divide, architecture: 0, number: 0) == .action(SeccompAction(raw: 0)))
    }

    @Test(
        "Programs the kernel refuses are refused, naming the instruction",
        arguments: [
            ([BPFInstruction](), nil as Int?),
            ([BPFInstruction(code: 0x20, k: 2), BPFInstruction(code: 0x06)], 0),  // unaligned load
            ([BPFInstruction(code: 0x20, k: 64), BPFInstruction(code: 0x06)], 0),  // beyond seccomp_data
            ([BPFInstruction(code: 0x30, k: 0), BPFInstruction(code: 0x06)], 0),  // BPF_LD|BPF_B|BPF_ABS
            ([BPFInstruction(code: 0x94, k: 3), BPFInstruction(code: 0x06)], 0),  // BPF_MOD
            ([BPFInstruction(code: 0x34, k: 0), BPFInstruction(code: 0x06)], 0),  // divide by constant 0
            ([BPFInstruction(code: 0x64, k: 32), BPFInstruction(code: 0x06)], 0),  // shift by 32
            ([BPFInstruction(code: 0x15, jt: 1, jf: 0), BPFInstruction(code: 0x06)], 0),  // jump out
            ([BPFInstruction(code: 0x05, k: 1), BPFInstruction(code: 0x06)], 0),  // JA out
            ([BPFInstruction(code: 0x60, k: 1), BPFInstruction(code: 0x16)], 0),  // scratch read before write
            ([BPFInstruction(code: 0x00, k: 1)], 0),  // no return at the end
            ([BPFInstruction(code: 0x0e)], 0),  // BPF_RET|BPF_X: classic, not seccomp
        ])
    func refused(program: [BPFInstruction], instruction: Int?) {
        #expect(throws: SeccompProgramError.self) { try SeccompProgram(validating: program) }
        do {
            _ = try SeccompProgram(validating: program)
        } catch {
            #expect(error.instruction == instruction, "\(error)")
        }
    }

    @Test("A scratch word written on only one branch cannot be read after the join")
    func scratchOnOneBranch() {
        let program = [
            BPFInstruction(code: 0x20, k: 16),
            BPFInstruction(code: 0x15, jt: 0, jf: 1, k: 1),
            BPFInstruction(code: 0x02, k: 0),
            BPFInstruction(code: 0x60, k: 0),
            BPFInstruction(code: 0x16),
        ]
        #expect(throws: SeccompProgramError.self) { try SeccompProgram(validating: program) }
        #expect(throws: SeccompProgramError.self) { try SeccompProgram(validating: Array(repeating: BPFInstruction(code: 0x06), count: 4097)) }
        #expect(throws: SeccompProgramError.self) { try SeccompProgram(bytes: [0, 0, 0]) }
    }

    @Test("Paths past the limit are undecided, never a guess")
    func pathLimit() throws {
        // Ten independent tests on the arguments: 1024 paths, each returning a different errno.
        var program: [BPFInstruction] = []
        for argument in 0..<10 {
            program.append(BPFInstruction(code: 0x20, k: UInt32(16 + 8 * (argument % 6))))
            program.append(BPFInstruction(code: 0x45, jt: 0, jf: 1, k: 1 << UInt32(argument)))  // JSET
            program.append(BPFInstruction(code: 0x00, k: 0))  // (both sides meet here)
        }
        program.append(BPFInstruction(code: 0x06, k: 0x7fff_0000))
        let decision = SeccompEvaluator.decide(try SeccompProgram(validating: program), architecture: 0, number: 0)
        guard case .undecided = decision else {
            Issue.record("decision is \(decision)")
            return
        }
        #expect(SeccompSurface.reach(decision) == .unknown)
    }

    @Test("The set-wise run gives each number the action the one-by-one run gives")
    func setWiseRunAgreesWithOneByOne() throws {
        // A runtime's default in shape: hundreds of calls allowed in libseccomp's chain, a few
        // conditioned on arguments, a few refused, on all three entry points.
        let every = (libseccompNames.names[.x86_64] ?? [:]).values.sorted()
        let refused: Set<String> = ["mount", "ptrace", "kexec_load", "bpf", "personality", "clone"]
        let large = LinuxSeccomp(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            syscalls: [
                .init(names: every.filter { !refused.contains($0) }, action: "SCMP_ACT_ALLOW"),
                .init(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 0, op: "SCMP_CMP_EQ")]),
                .init(
                    names: ["clone"], action: "SCMP_ACT_ALLOW",
                    args: [.init(index: 0, value: 0x7e02_0000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]),
                .init(names: ["ptrace"], action: "SCMP_ACT_KILL_PROCESS"),
            ])
        let numbers = Array(0..<SeccompTable.numberLimit) + (0..<SeccompTable.numberLimit).map { 0x4000_0000 | $0 }
        for program in [try compiled(large), try compiled(sampleProfile)] {
            for architecture in [SeccompArchitecture.x86_64, .x86] {
                let audit = architecture.auditArchitecture
                let setWise = SeccompEvaluator.actionsByNumber(program.instructions, architecture: audit, numbers: numbers)
                // libseccomp's programs never compute with the number: every call the one-by-one
                // run decides on nr and arch alone, the set-wise run decides the same way.
                for number in numbers {
                    #expect(
                        setWise[number] == SeccompEvaluator.concreteAction(program.instructions, architecture: audit, number: number),
                        "\(architecture) nr \(number)")
                }
            }
        }
        // The whole table, against deciding every call one by one.
        let program = try compiled(large)
        let table = SeccompEvaluator.table([program, try compiled(sampleProfile)])
        for architecture in SeccompArchitecture.allCases {
            for number in stride(from: UInt32(0), to: SeccompTable.numberLimit, by: 1) {
                let full = architecture.numberBase | number
                let oneByOne = SeccompEvaluator.combine([
                    SeccompEvaluator.decide(program, architecture: architecture.auditArchitecture, number: full),
                    SeccompEvaluator.decide(try compiled(sampleProfile), architecture: architecture.auditArchitecture, number: full),
                ])
                #expect(table.decision(architecture, number) == oneByOne, "\(architecture) nr \(number)")
            }
        }
        #expect(table.decision(.x86_64, try number("read")) == .action(.allow))
        #expect(table.decision(.x86_64, try number("mount")) == .action(.errno(1)))
    }

    @Test("Random programs never crash or hang the evaluator")
    func randomPrograms() {
        var generator = SystemRandomNumberGenerator()
        let codes: [UInt16] = [0x20, 0x80, 0x81, 0x00, 0x01, 0x60, 0x61, 0x02, 0x03, 0x06, 0x16, 0x07, 0x87, 0x05, 0x84,
            0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0xa4, 0xac,
            0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d]
        var accepted = 0
        for _ in 0..<3000 {
            let length = Int.random(in: 1...40, using: &generator)
            let program = (0..<length).map { _ in
                BPFInstruction(
                    code: codes.randomElement(using: &generator) ?? 0x06, jt: UInt8.random(in: 0...4, using: &generator),
                    jf: UInt8.random(in: 0...4, using: &generator),
                    k: Bool.random(using: &generator) ? UInt32.random(in: 0...64, using: &generator) * 4 / 4 : UInt32.random(in: 0...UInt32.max, using: &generator))
            }
            guard let valid = try? SeccompProgram(validating: program) else { continue }
            accepted += 1
            let number = UInt32.random(in: 0...500, using: &generator)
            // The set-wise run never disagrees with the one-by-one run (it may leave a number
            // out, for `decide` to take).
            let some = (0..<8).map { _ in UInt32.random(in: 0...500, using: &generator) } + [number]
            for (each, action) in SeccompEvaluator.actionsByNumber(valid.instructions, architecture: 0xc000_003e, numbers: some) {
                #expect(action == SeccompEvaluator.concreteAction(valid.instructions, architecture: 0xc000_003e, number: each))
            }
            let decision = SeccompEvaluator.decide(valid, architecture: 0xc000_003e, number: number)
            // The plain-register fast path and the symbolic evaluation agree where both decide.
            if case .action = decision, SeccompEvaluator.concreteAction(valid.instructions, architecture: 0xc000_003e, number: number) != nil {
                #expect(SeccompEvaluator.symbolicDecision(valid, architecture: 0xc000_003e, number: number) == decision)
            }
        }
        #expect(accepted > 0)
    }
}

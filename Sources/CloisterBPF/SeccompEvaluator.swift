/// The system-call entry points of an x86 kernel, as `seccomp_data` shows them: the audit
/// architecture in `arch`, and for x32 the x86_64 architecture with bit 30 set in `nr`.
public enum SeccompArchitecture: String, Sendable, CaseIterable, Hashable, Comparable {
    // libseccomp's names for them.
    case x86_64, x86, x32

    /// AUDIT_ARCH_X86_64 (EM_X86_64 | 64BIT | LE) and AUDIT_ARCH_I386 (EM_386 | LE).
    public var auditArchitecture: UInt32 {
        switch self {
        case .x86_64, .x32: 0xc000_003e
        case .x86: 0x4000_0003
        }
    }

    /// __X32_SYSCALL_BIT, set in `nr` by the x32 entry point.
    public var numberBase: UInt32 { self == .x32 ? 0x4000_0000 : 0 }

    /// The native architecture first, then the compat entry points.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// One outcome of a syscall whose action depends on its arguments: the tests on the way to it
/// (`args[0] low word & 0x7e020000 == 0x0`) and the action.
public struct SeccompCase: Sendable, Hashable {
    public var tests: [String]
    public var action: SeccompAction

    public init(tests: [String], action: SeccompAction) {
        self.tests = tests
        self.action = action
    }
}

/// What a filter (or a stack of filters) does with one system call number.
public enum SeccompDecision: Sendable, Hashable {
    /// The same action whatever the arguments and instruction pointer.
    case action(SeccompAction)
    /// The action depends on the arguments (or the instruction pointer). `complete` is false
    /// when more outcomes existed than are listed.
    case conditional([SeccompCase], complete: Bool)
    /// The evaluation gave up (too many paths): never a guess.
    case undecided(String)

    /// The actions it can end in.
    public var actions: Set<SeccompAction> {
        switch self {
        case .action(let action): [action]
        case .conditional(let cases, _): Set(cases.map(\.action))
        case .undecided: []
        }
    }
}

/// The decoded filter: per architecture, the decision for each system call number below
/// `numberLimit` (above every number x86 kernels define).
public struct SeccompTable: Sendable, Hashable {
    public static let numberLimit: UInt32 = 1024
    public var decisions: [SeccompArchitecture: [SeccompDecision]]

    public init(decisions: [SeccompArchitecture: [SeccompDecision]]) { self.decisions = decisions }

    public func decision(_ architecture: SeccompArchitecture, _ number: UInt32) -> SeccompDecision? {
        guard let list = decisions[architecture], number < UInt32(list.count) else { return nil }
        return list[Int(number)]
    }
}

/// Evaluates seccomp programs over `struct seccomp_data` with the syscall number and the
/// architecture given and the arguments and instruction pointer left unknown: each conditional
/// jump on an unknown word follows both ways and records the test, so a decision lists every
/// outcome the arguments can lead to. Programs only jump forward, so every path ends; the
/// number of paths is bounded by `pathLimit`, past which the decision is `undecided`.
public enum SeccompEvaluator {
    public static let pathLimit = 512
    /// Instructions run for one decision, over all its paths: bounds the work a hostile or
    /// pathological program can cause (a real 1,158-instruction filter runs a few hundred).
    public static let stepLimit = 65_536
    /// Cases kept in a conditional decision.
    public static let caseLimit = 32

    /// The decision table of a stack of filters, combined as the kernel combines them.
    /// `filters[0]` is the most recently installed (PTRACE_SECCOMP_GET_FILTER's index 0); the
    /// kernel runs that one first and keeps the first action among equal ones.
    /// `numbers`, when given, limits the evaluation to those numbers of each architecture (the
    /// ones libseccomp names: a scan needs no others); the rest are `undecided`.
    public static func table(_ filters: [SeccompProgram], numbers: [SeccompArchitecture: Set<UInt32>]? = nil) -> SeccompTable {
        var decisions: [SeccompArchitecture: [SeccompDecision]] = [:]
        for architecture in SeccompArchitecture.allCases {
            var list: [SeccompDecision] = []
            list.reserveCapacity(Int(SeccompTable.numberLimit))
            let wanted = numbers?[architecture]
            let evaluated = (0..<SeccompTable.numberLimit).filter { wanted?.contains($0) ?? true }.map { architecture.numberBase | $0 }
            // One pass over each program for all the numbers at once; the few calls whose
            // action depends on their arguments are then evaluated one by one.
            let byNumber = filters.map { actionsByNumber($0.instructions, architecture: architecture.auditArchitecture, numbers: evaluated) }
            for number in 0..<SeccompTable.numberLimit {
                if let wanted, !wanted.contains(number) {
                    list.append(.undecided("not evaluated"))
                    continue
                }
                let full = architecture.numberBase | number
                let each = filters.indices.map { index in
                    byNumber[index][full].map { SeccompDecision.action($0) }
                        ?? decide(filters[index], architecture: architecture.auditArchitecture, number: full)
                }
                list.append(combine(each))
            }
            decisions[architecture] = list
        }
        return SeccompTable(decisions: decisions)
    }

    /// The decision of several filters for one call: the action of highest precedence.
    public static func combine(_ decisions: [SeccompDecision]) -> SeccompDecision {
        guard var combined = decisions.first else { return .action(.allow) }
        for next in decisions.dropFirst() {
            combined = combine(combined, next)
        }
        return combined
    }

    static func combine(_ first: SeccompDecision, _ second: SeccompDecision) -> SeccompDecision {
        switch (first, second) {
        case (.undecided(let why), _), (_, .undecided(let why)):
            return .undecided(why)
        case (.action(let a), .action(let b)):
            return .action(b.takesPrecedence(over: a) ? b : a)
        default:
            // An unconditional action that outranks everything the other can return decides.
            for (fixed, other) in [(first, second), (second, first)] {
                if case .action(let action) = fixed,
                    other.actions.allSatisfy({ !$0.takesPrecedence(over: action) })
                {
                    return .action(action)
                }
            }
            var cases: [SeccompCase] = []
            var complete = true
            for a in asCases(first).cases {
                for b in asCases(second).cases {
                    let action = b.action.takesPrecedence(over: a.action) ? b.action : a.action
                    if cases.count == caseLimit {
                        complete = false
                        break
                    }
                    cases.append(SeccompCase(tests: a.tests + b.tests, action: action))
                }
            }
            complete = complete && asCases(first).complete && asCases(second).complete
            let actions = Set(cases.map(\.action))
            if complete, actions.count == 1, let only = actions.first { return .action(only) }
            return .conditional(cases, complete: complete)
        }
    }

    static func asCases(_ decision: SeccompDecision) -> (cases: [SeccompCase], complete: Bool) {
        switch decision {
        case .action(let action): ([SeccompCase(tests: [], action: action)], true)
        case .conditional(let cases, let complete): (cases, complete)
        case .undecided: ([], false)
        }
    }

    /// One program's decision for one architecture and number.
    public static func decide(_ program: SeccompProgram, architecture: UInt32, number: UInt32) -> SeccompDecision {
        // Most calls are decided on nr and arch alone: run those on plain registers first.
        if let action = concreteAction(program.instructions, architecture: architecture, number: number) {
            return .action(action)
        }
        return symbolicDecision(program, architecture: architecture, number: number)
    }

    /// Every path, with the arguments and instruction pointer unknown.
    static func symbolicDecision(_ program: SeccompProgram, architecture: UInt32, number: UInt32) -> SeccompDecision {
        var outcomes: [SeccompCase] = []
        var paths = 0
        var steps = 0
        var pending = [Machine(architecture: architecture, number: number)]
        while var machine = pending.popLast() {
            paths += 1
            if paths > pathLimit {
                return .undecided("more than \(pathLimit) paths through the filter for this call")
            }
            switch machine.run(program.instructions, steps: &steps) {
            case .exhausted:
                return .undecided("more than \(stepLimit) instructions to evaluate for this call")
            case .returned(let action):
                outcomes.append(SeccompCase(tests: machine.tests, action: action))
            case .forked(let other):
                pending.append(other)
                pending.append(machine)
            }
        }
        let actions = Set(outcomes.map(\.action))
        if actions.count == 1, let only = actions.first { return .action(only) }
        // Outcomes in the order the program lists them: the first path returns first.
        let kept = Array(outcomes.prefix(caseLimit))
        return .conditional(kept, complete: kept.count == outcomes.count)
    }
}

extension SeccompEvaluator {
    /// The action when the program reads nothing but `nr`, `arch` and constants on its way to a
    /// return; nil as soon as it loads an argument or the instruction pointer (the symbolic
    /// evaluation then decides). Validated programs only jump forward, so this ends.
    static func concreteAction(_ program: [BPFInstruction], architecture: UInt32, number: UInt32) -> SeccompAction? {
        var accumulator: UInt32 = 0
        var index: UInt32 = 0
        var memory: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var pc = 0
        while pc < program.count {
            let instruction = program[pc]
            pc += 1
            switch instruction.code {
            case Opcode.loadWordAbsolute:
                switch instruction.k {
                case 0: accumulator = number
                case 4: accumulator = architecture
                default: return nil
                }
            case Opcode.loadLength: accumulator = SeccompProgram.dataSize
            case Opcode.loadIndexLength: index = SeccompProgram.dataSize
            case Opcode.loadImmediate: accumulator = instruction.k
            case Opcode.loadIndexImmediate: index = instruction.k
            case Opcode.loadMemory, Opcode.loadIndexMemory:
                let value = withUnsafeBytes(of: &memory) { $0.load(fromByteOffset: Int(instruction.k & 15) * 4, as: UInt32.self) }
                if instruction.code == Opcode.loadMemory { accumulator = value } else { index = value }
            case Opcode.store, Opcode.storeIndex:
                let value = instruction.code == Opcode.store ? accumulator : index
                withUnsafeMutableBytes(of: &memory) { $0.storeBytes(of: value, toByteOffset: Int(instruction.k & 15) * 4, as: UInt32.self) }
            case Opcode.transferToIndex: index = accumulator
            case Opcode.transferToAccumulator: accumulator = index
            case Opcode.returnConstant: return SeccompAction(raw: instruction.k)
            case Opcode.returnAccumulator: return SeccompAction(raw: accumulator)
            case Opcode.negate: accumulator = 0 &- accumulator
            case Opcode.jumpAlways: pc += Int(instruction.k)
            default:
                if let (operation, usesIndex) = Opcode.arithmetic(instruction.code) {
                    guard let result = Machine.arithmetic(operation, accumulator, usesIndex ? index : instruction.k) else {
                        return SeccompAction(raw: 0)
                    }
                    accumulator = result
                } else if let (comparison, usesIndex) = Opcode.conditionalJump(instruction.code) {
                    let operand = usesIndex ? index : instruction.k
                    let holds: Bool
                    switch comparison {
                    case .equal: holds = accumulator == operand
                    case .greater: holds = accumulator > operand
                    case .greaterOrEqual: holds = accumulator >= operand
                    case .anyBitSet: holds = accumulator & operand != 0
                    }
                    pc += Int(holds ? instruction.jt : instruction.jf)
                } else {
                    return nil
                }
            }
        }
        return nil
    }
}

extension SeccompEvaluator {
    /// A register's content when the path runs for a set of system call numbers at once: a
    /// constant, or the call's number itself.
    enum NumberRegister: Equatable {
        case known(UInt32)
        case number
    }

    /// One path of the set-wise run: the numbers that take it, and the machine's registers.
    struct NumberPath {
        var pc = 0
        var accumulator = NumberRegister.known(0)
        var index = NumberRegister.known(0)
        var memory = [NumberRegister](repeating: .known(0), count: 16)
        var numbers: [UInt32]
    }

    /// The action `program` gives each of `numbers` (as `nr` holds them, x32's bit included)
    /// when it reads nothing but `nr`, `arch` and constants: the program runs once for the
    /// whole set, which splits at each test of the number, so a filter of hundreds of calls
    /// is run a few times over rather than once per call. Numbers whose path loads an argument
    /// or the instruction pointer, or computes with the number, are left out; `decide` takes
    /// them one by one. Agrees with `concreteAction` on every number it returns (tested). Each
    /// fork leaves both sides non-empty and jumps only go forward, so the work is bounded by
    /// the numbers times the program's length, the bound of running them one by one.
    static func actionsByNumber(_ program: [BPFInstruction], architecture: UInt32, numbers: [UInt32]) -> [UInt32: SeccompAction] {
        var actions: [UInt32: SeccompAction] = [:]
        actions.reserveCapacity(numbers.count)
        let ascending = Array(Set(numbers)).sorted()
        var pending = ascending.isEmpty ? [] : [NumberPath(numbers: ascending)]
        func value(_ register: NumberRegister, _ number: UInt32) -> UInt32 {
            if case .known(let constant) = register { return constant }
            return number
        }
        paths: while var path = pending.popLast() {
            while path.pc < program.count {
                let instruction = program[path.pc]
                path.pc += 1
                switch instruction.code {
                case Opcode.loadWordAbsolute:
                    switch instruction.k {
                    case 0: path.accumulator = .number
                    case 4: path.accumulator = .known(architecture)
                    default: continue paths  // an argument or the instruction pointer: one by one
                    }
                case Opcode.loadLength: path.accumulator = .known(SeccompProgram.dataSize)
                case Opcode.loadIndexLength: path.index = .known(SeccompProgram.dataSize)
                case Opcode.loadImmediate: path.accumulator = .known(instruction.k)
                case Opcode.loadIndexImmediate: path.index = .known(instruction.k)
                case Opcode.loadMemory: path.accumulator = path.memory[Int(instruction.k & 15)]
                case Opcode.loadIndexMemory: path.index = path.memory[Int(instruction.k & 15)]
                case Opcode.store: path.memory[Int(instruction.k & 15)] = path.accumulator
                case Opcode.storeIndex: path.memory[Int(instruction.k & 15)] = path.index
                case Opcode.transferToIndex: path.index = path.accumulator
                case Opcode.transferToAccumulator: path.accumulator = path.index
                case Opcode.returnConstant:
                    for number in path.numbers { actions[number] = SeccompAction(raw: instruction.k) }
                    continue paths
                case Opcode.returnAccumulator:
                    for number in path.numbers { actions[number] = SeccompAction(raw: value(path.accumulator, number)) }
                    continue paths
                case Opcode.negate:
                    guard case .known(let constant) = path.accumulator else { continue paths }
                    path.accumulator = .known(0 &- constant)
                case Opcode.jumpAlways: path.pc += Int(instruction.k)
                default:
                    if let (operation, usesIndex) = Opcode.arithmetic(instruction.code) {
                        guard case .known(let a) = path.accumulator, case .known(let b) = usesIndex ? path.index : .known(instruction.k)
                        else { continue paths }
                        guard let result = Machine.arithmetic(operation, a, b) else {
                            for number in path.numbers { actions[number] = SeccompAction(raw: 0) }
                            continue paths
                        }
                        path.accumulator = .known(result)
                    } else if let (comparison, usesIndex) = Opcode.conditionalJump(instruction.code) {
                        let operand = usesIndex ? path.index : NumberRegister.known(instruction.k)
                        let taken = path.pc + Int(instruction.jt)
                        let notTaken = path.pc + Int(instruction.jf)
                        if taken == notTaken {
                            path.pc = taken
                            continue
                        }
                        let left = path.accumulator
                        func holds(_ number: UInt32) -> Bool {
                            let a = value(left, number)
                            let b = value(operand, number)
                            switch comparison {
                            case .equal: return a == b
                            case .greater: return a > b
                            case .greaterOrEqual: return a >= b
                            case .anyBitSet: return a & b != 0
                            }
                        }
                        if case .known = left, case .known = operand {
                            path.pc = holds(0) ? taken : notTaken
                            continue
                        }
                        var yes: [UInt32] = []
                        var no: [UInt32] = []
                        if left == .number, case .known(let constant) = operand, comparison != .anyBitSet {
                            // The numbers stay in ascending order: a test of the number against a
                            // constant cuts the list at one place (a libseccomp chain of hundreds
                            // of JEQs is then a search per test, not a copy).
                            let numbers = path.numbers
                            var low = 0
                            var high = numbers.count
                            while low < high {
                                let middle = (low + high) / 2
                                let below = comparison == .greater ? numbers[middle] <= constant : numbers[middle] < constant
                                if below { low = middle + 1 } else { high = middle }
                            }
                            if comparison == .equal {
                                if low < numbers.count, numbers[low] == constant {
                                    yes = [constant]
                                    no = numbers
                                    no.remove(at: low)
                                } else {
                                    no = numbers
                                }
                            } else {
                                yes = Array(numbers[low...])
                                no = Array(numbers[..<low])
                            }
                        } else {
                            for number in path.numbers {
                                if holds(number) { yes.append(number) } else { no.append(number) }
                            }
                        }
                        if no.isEmpty {
                            path.pc = taken
                        } else if yes.isEmpty {
                            path.pc = notTaken
                        } else {
                            var other = path
                            other.numbers = no
                            other.pc = notTaken
                            pending.append(other)
                            path.numbers = yes
                            path.pc = taken
                        }
                    } else {
                        continue paths  // not an instruction validation admits: one by one
                    }
                }
            }
        }
        return actions
    }
}

/// A 32-bit word of `seccomp_data` other than `nr` and `arch`, which are known.
enum DataWord: Hashable, CustomStringConvertible {
    case instructionPointer(high: Bool)
    case argument(Int, high: Bool)

    init?(offset: UInt32) {
        switch offset {
        case 8: self = .instructionPointer(high: false)
        case 12: self = .instructionPointer(high: true)
        case 16..<64:
            self = .argument(Int((offset - 16) / 8), high: (offset - 16) % 8 == 4)
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .instructionPointer(let high): "instruction_pointer \(high ? "high" : "low") word"
        case .argument(let index, let high): "args[\(index)] \(high ? "high" : "low") word"
        }
    }
}

/// A register's content: known, an unknown data word as loaded, or an expression of one.
enum Symbol: Hashable {
    case known(UInt32)
    case word(DataWord)
    /// An unknown value computed from the data (its text for the tests).
    case expression(String)

    var text: String {
        switch self {
        case .known(let value): "0x" + String(value, radix: 16)
        case .word(let word): word.description
        case .expression(let text): text
        }
    }
}

/// The classic BPF machine on one path, with what the path has learned about the data words.
struct Machine {
    enum Stop {
        case returned(SeccompAction)
        /// The decision's instruction budget ran out.
        case exhausted
        /// A jump on unknown data: `self` continues on the taken side, the other on the other.
        case forked(Machine)
    }

    var pc = 0
    var accumulator = Symbol.known(0)
    var index = Symbol.known(0)
    var memory = [Symbol](repeating: .known(0), count: 16)
    let architecture: UInt32
    let number: UInt32
    /// Words a test on this path fixed, and values it excluded: a later test on the same word
    /// is decided, so contradictory paths (libseccomp reloads a word per rule) are not followed.
    var equal: [DataWord: UInt32] = [:]
    var notEqual: [DataWord: Set<UInt32>] = [:]
    var tests: [String] = []

    init(architecture: UInt32, number: UInt32) {
        self.architecture = architecture
        self.number = number
    }

    func load(_ offset: UInt32) -> Symbol {
        switch offset {
        case 0: return .known(number)
        case 4: return .known(architecture)
        default:
            guard let word = DataWord(offset: offset) else { return .known(0) }
            if let value = equal[word] { return .known(value) }
            return .word(word)
        }
    }

    static func arithmetic(_ operation: Opcode.ArithmeticOperation, _ a: UInt32, _ b: UInt32) -> UInt32? {
        switch operation {
        case .add: a &+ b
        case .subtract: a &- b
        case .multiply: a &* b
        case .divide: b == 0 ? nil : a / b
        case .or: a | b
        case .and: a & b
        case .exclusiveOr: a ^ b
        case .shiftLeft: b >= 32 ? 0 : a << b
        case .shiftRight: b >= 32 ? 0 : a >> b
        }
    }

    static let operatorText: [Opcode.ArithmeticOperation: String] = [
        .add: "+", .subtract: "-", .multiply: "*", .divide: "/", .or: "|", .and: "&", .exclusiveOr: "^",
        .shiftLeft: "<<", .shiftRight: ">>",
    ]

    /// Runs until a return or a jump that depends on unknown data.
    mutating func run(_ program: [BPFInstruction], steps: inout Int) -> Stop {
        while pc < program.count {
            steps += 1
            if steps > SeccompEvaluator.stepLimit { return .exhausted }
            let instruction = program[pc]
            pc += 1
            switch instruction.code {
            case Opcode.loadWordAbsolute: accumulator = load(instruction.k)
            case Opcode.loadLength: accumulator = .known(SeccompProgram.dataSize)
            case Opcode.loadIndexLength: index = .known(SeccompProgram.dataSize)
            case Opcode.loadImmediate: accumulator = .known(instruction.k)
            case Opcode.loadIndexImmediate: index = .known(instruction.k)
            case Opcode.loadMemory: accumulator = memory[Int(instruction.k & 15)]
            case Opcode.loadIndexMemory: index = memory[Int(instruction.k & 15)]
            case Opcode.store: memory[Int(instruction.k & 15)] = accumulator
            case Opcode.storeIndex: memory[Int(instruction.k & 15)] = index
            case Opcode.transferToIndex: index = accumulator
            case Opcode.transferToAccumulator: accumulator = index
            case Opcode.returnConstant: return .returned(SeccompAction(raw: instruction.k))
            case Opcode.returnAccumulator:
                if case .known(let value) = accumulator { return .returned(SeccompAction(raw: value)) }
                // A return of unknown data: any action at all; the strictest is not a safe guess.
                tests.append("returns \(accumulator.text)")
                return .returned(SeccompAction(raw: 0x8000_0000))
            case Opcode.negate:
                if case .known(let value) = accumulator { accumulator = .known(0 &- value) } else {
                    accumulator = .expression("-(\(accumulator.text))")
                }
            case Opcode.jumpAlways: pc += Int(instruction.k)
            default:
                if let (operation, usesIndex) = Opcode.arithmetic(instruction.code) {
                    let operand = usesIndex ? index : .known(instruction.k)
                    if case .known(let a) = accumulator, case .known(let b) = operand {
                        // Classic BPF ends the program with 0 on a division by zero.
                        guard let result = Self.arithmetic(operation, a, b) else {
                            return .returned(SeccompAction(raw: 0))
                        }
                        accumulator = .known(result)
                    } else {
                        let symbol = Self.operatorText[operation] ?? "?"
                        accumulator = .expression("(\(accumulator.text) \(symbol) \(operand.text))")
                    }
                } else if let (comparison, usesIndex) = Opcode.conditionalJump(instruction.code) {
                    let operand = usesIndex ? index : .known(instruction.k)
                    let taken = pc + Int(instruction.jt)
                    let notTaken = pc + Int(instruction.jf)
                    if taken == notTaken {
                        pc = taken
                        continue
                    }
                    if let outcome = decided(comparison, accumulator, operand) {
                        pc = outcome ? taken : notTaken
                        continue
                    }
                    var other = self
                    learn(comparison, accumulator, operand, holds: true)
                    other.learn(comparison, accumulator, operand, holds: false)
                    pc = taken
                    other.pc = notTaken
                    return .forked(other)
                }
                // Validation admits nothing else; a stray opcode ends the path as the kernel
                // would refuse the program.
                else {
                    return .returned(SeccompAction(raw: 0x8000_0000))
                }
            }
        }
        return .returned(SeccompAction(raw: 0x8000_0000))
    }

    func decided(_ comparison: Opcode.Comparison, _ left: Symbol, _ right: Symbol) -> Bool? {
        if case .known(let a) = left, case .known(let b) = right {
            switch comparison {
            case .equal: return a == b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            case .anyBitSet: return a & b != 0
            }
        }
        if comparison == .equal, case .word(let word) = left, case .known(let b) = right,
            notEqual[word]?.contains(b) == true
        {
            return false
        }
        if comparison == .anyBitSet, case .known(0) = right { return false }
        return nil
    }

    mutating func learn(_ comparison: Opcode.Comparison, _ left: Symbol, _ right: Symbol, holds: Bool) {
        let relation: String
        switch (comparison, holds) {
        case (.equal, true): relation = "=="
        case (.equal, false): relation = "!="
        case (.greater, true): relation = ">"
        case (.greater, false): relation = "<="
        case (.greaterOrEqual, true): relation = ">="
        case (.greaterOrEqual, false): relation = "<"
        case (.anyBitSet, true): relation = "has a bit of"
        case (.anyBitSet, false): relation = "has no bit of"
        }
        tests.append("\(left.text) \(relation) \(right.text)")
        if comparison == .equal, case .word(let word) = left, case .known(let value) = right {
            if holds {
                equal[word] = value
                // Registers holding the word now hold its value.
                if accumulator == left { accumulator = .known(value) }
                if index == left { index = .known(value) }
                for slot in memory.indices where memory[slot] == left { memory[slot] = .known(value) }
            } else {
                notEqual[word, default: []].insert(value)
            }
        }
    }
}

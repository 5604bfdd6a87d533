// A seccomp filter as the kernel holds it: a classic BPF program over `struct seccomp_data`,
// accepted or refused by the same checks the kernel applies when the filter is installed
// (net/core/filter.c `bpf_check_classic`, then kernel/seccomp.c `seccomp_check_filter`).
// Pure: the programs come from PTRACE_SECCOMP_GET_FILTER or from libseccomp's export, the
// callers read them; this module only evaluates.

/// One `struct sock_filter`.
public struct BPFInstruction: Sendable, Hashable {
    public var code: UInt16
    public var jt: UInt8
    public var jf: UInt8
    public var k: UInt32

    public init(code: UInt16, jt: UInt8 = 0, jf: UInt8 = 0, k: UInt32 = 0) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }
}

/// Why a program is not one the kernel would install, naming the instruction.
public struct SeccompProgramError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending instruction's index, or nil for the program as a whole.
    public var instruction: Int?
    public var reason: String

    public init(instruction: Int?, reason: String) {
        self.instruction = instruction
        self.reason = reason
    }

    public var description: String {
        if let instruction { return "seccomp program, instruction \(instruction): \(reason)" }
        return "seccomp program: \(reason)"
    }
}

/// The opcodes seccomp accepts (kernel/seccomp.c `seccomp_check_filter`), by their classic
/// BPF encoding (include/uapi/linux/filter.h, bpf_common.h).
enum Opcode {
    static let loadWordAbsolute: UInt16 = 0x20  // BPF_LD | BPF_W | BPF_ABS
    static let loadLength: UInt16 = 0x80  // BPF_LD | BPF_W | BPF_LEN
    static let loadIndexLength: UInt16 = 0x81  // BPF_LDX | BPF_W | BPF_LEN
    static let loadImmediate: UInt16 = 0x00  // BPF_LD | BPF_IMM
    static let loadIndexImmediate: UInt16 = 0x01  // BPF_LDX | BPF_IMM
    static let loadMemory: UInt16 = 0x60  // BPF_LD | BPF_MEM
    static let loadIndexMemory: UInt16 = 0x61  // BPF_LDX | BPF_MEM
    static let store: UInt16 = 0x02  // BPF_ST
    static let storeIndex: UInt16 = 0x03  // BPF_STX
    static let returnConstant: UInt16 = 0x06  // BPF_RET | BPF_K
    static let returnAccumulator: UInt16 = 0x16  // BPF_RET | BPF_A
    static let transferToIndex: UInt16 = 0x07  // BPF_MISC | BPF_TAX
    static let transferToAccumulator: UInt16 = 0x87  // BPF_MISC | BPF_TXA
    static let jumpAlways: UInt16 = 0x05  // BPF_JMP | BPF_JA
    static let negate: UInt16 = 0x84  // BPF_ALU | BPF_NEG

    static let aluClass: UInt16 = 0x04
    static let jumpClass: UInt16 = 0x05
    static let sourceIndex: UInt16 = 0x08  // BPF_X

    /// BPF_ALU operations seccomp allows with BPF_K or BPF_X (not BPF_MOD).
    enum ArithmeticOperation: UInt16, CaseIterable {
        case add = 0x00, subtract = 0x10, multiply = 0x20, divide = 0x30, or = 0x40, and = 0x50
        case shiftLeft = 0x60, shiftRight = 0x70, exclusiveOr = 0xa0
    }

    /// Conditional jumps seccomp allows with BPF_K or BPF_X.
    enum Comparison: UInt16, CaseIterable {
        case equal = 0x10, greater = 0x20, greaterOrEqual = 0x30, anyBitSet = 0x40
    }

    static func arithmetic(_ code: UInt16) -> (ArithmeticOperation, usesIndex: Bool)? {
        let rest = code & ~0xf0
        guard rest == aluClass || rest == aluClass | sourceIndex,
            let operation = ArithmeticOperation(rawValue: code & 0xf0)
        else { return nil }
        return (operation, code & sourceIndex != 0)
    }

    static func conditionalJump(_ code: UInt16) -> (Comparison, usesIndex: Bool)? {
        let rest = code & ~0xf0
        guard rest == jumpClass || rest == jumpClass | sourceIndex, let comparison = Comparison(rawValue: code & 0xf0)
        else { return nil }
        return (comparison, code & sourceIndex != 0)
    }
}

/// A validated seccomp program: every instruction one seccomp accepts, every jump forward and
/// inside the program, every scratch word written before it is read, the last a return.
public struct SeccompProgram: Sendable, Hashable {
    /// The kernel's limit (BPF_MAXINSNS).
    public static let maximumLength = 4096
    /// `sizeof(struct seccomp_data)`: what BPF_LEN loads and the bound of absolute loads.
    public static let dataSize: UInt32 = 64
    /// BPF_MEMWORDS: the scratch memory's words.
    static let memoryWords: UInt32 = 16

    public let instructions: [BPFInstruction]

    public init(validating instructions: [BPFInstruction]) throws(SeccompProgramError) {
        try Self.validate(instructions)
        self.instructions = instructions
    }

    /// From the bytes PTRACE_SECCOMP_GET_FILTER or seccomp_export_bpf hand over: 8 bytes an
    /// instruction, in the host's byte order (little-endian on the architectures cloister reads).
    public init(bytes: [UInt8]) throws(SeccompProgramError) {
        guard bytes.count % 8 == 0 else {
            throw SeccompProgramError(instruction: nil, reason: "\(bytes.count) bytes is not a whole number of 8-byte instructions")
        }
        var instructions: [BPFInstruction] = []
        instructions.reserveCapacity(bytes.count / 8)
        var index = 0
        while index < bytes.count {
            let code = UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
            let k = UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                | UInt32(bytes[index + 7]) << 24
            instructions.append(BPFInstruction(code: code, jt: bytes[index + 2], jf: bytes[index + 3], k: k))
            index += 8
        }
        try self.init(validating: instructions)
    }

    static func validate(_ program: [BPFInstruction]) throws(SeccompProgramError) {
        guard !program.isEmpty else { throw SeccompProgramError(instruction: nil, reason: "empty program") }
        guard program.count <= maximumLength else {
            throw SeccompProgramError(
                instruction: nil, reason: "\(program.count) instructions, more than the kernel's \(maximumLength)")
        }
        let count = program.count
        for (pc, instruction) in program.enumerated() {
            func refuse(_ reason: String) -> SeccompProgramError { SeccompProgramError(instruction: pc, reason: reason) }
            let code = instruction.code
            let remaining = UInt32(count - pc - 1)
            switch code {
            case Opcode.loadWordAbsolute:
                guard instruction.k < dataSize, instruction.k & 3 == 0 else {
                    throw refuse("load of seccomp_data offset \(instruction.k): not an aligned word inside the 64 bytes")
                }
            case Opcode.loadMemory, Opcode.loadIndexMemory, Opcode.store, Opcode.storeIndex:
                guard instruction.k < memoryWords else { throw refuse("scratch word \(instruction.k) beyond the 16") }
            case Opcode.jumpAlways:
                guard instruction.k < remaining else { throw refuse("jump of \(instruction.k) leaves the program") }
            case Opcode.loadLength, Opcode.loadIndexLength, Opcode.loadImmediate, Opcode.loadIndexImmediate,
                Opcode.returnConstant, Opcode.returnAccumulator, Opcode.transferToIndex, Opcode.transferToAccumulator,
                Opcode.negate:
                break
            default:
                if let (operation, usesIndex) = Opcode.arithmetic(code) {
                    if !usesIndex && operation == .divide && instruction.k == 0 { throw refuse("division by constant zero") }
                    if !usesIndex && (operation == .shiftLeft || operation == .shiftRight) && instruction.k >= 32 {
                        throw refuse("shift by \(instruction.k), 32 or more")
                    }
                } else if Opcode.conditionalJump(code) != nil {
                    guard UInt32(instruction.jt) < remaining, UInt32(instruction.jf) < remaining else {
                        throw refuse("conditional jump (\(instruction.jt), \(instruction.jf)) leaves the program")
                    }
                } else {
                    throw refuse("opcode 0x\(String(code, radix: 16)) is not one seccomp accepts")
                }
            }
        }
        guard let last = program.last, last.code == Opcode.returnConstant || last.code == Opcode.returnAccumulator else {
            throw SeccompProgramError(instruction: count - 1, reason: "the last instruction does not return")
        }
        try checkScratchMemory(program)
    }

    /// As the kernel's `check_load_and_stores`: a scratch word read on some path before any
    /// store to it refuses the program.
    static func checkScratchMemory(_ program: [BPFInstruction]) throws(SeccompProgramError) {
        var masks = [UInt16](repeating: 0xffff, count: program.count)
        var valid: UInt16 = 0
        for (pc, instruction) in program.enumerated() {
            valid &= masks[pc]
            switch instruction.code {
            case Opcode.store, Opcode.storeIndex:
                valid |= 1 << UInt16(instruction.k)
            case Opcode.loadMemory, Opcode.loadIndexMemory:
                guard valid & (1 << UInt16(instruction.k)) != 0 else {
                    throw SeccompProgramError(instruction: pc, reason: "scratch word \(instruction.k) read before it is written")
                }
            case Opcode.jumpAlways:
                masks[pc + 1 + Int(instruction.k)] &= valid
                valid = 0xffff
            default:
                if Opcode.conditionalJump(instruction.code) != nil {
                    masks[pc + 1 + Int(instruction.jt)] &= valid
                    masks[pc + 1 + Int(instruction.jf)] &= valid
                    valid = 0xffff
                }
            }
        }
    }
}

/// The OCI runtime-spec `linux.seccomp` object (runtime-spec config-linux.md#seccomp), as runc,
/// crun and podman read it. Wire type only: the generator builds it from typed needs.
public struct OCISeccomp: Codable, Sendable, Equatable {
    /// What the profile was generated from. Not a runtime-spec field: runtimes ignore unknown
    /// keys (Go's encoding/json, crun's parser), and podman's own profile format has it.
    public var comment: String?
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]
    public var syscalls: [OCISyscallRule]

    public init(comment: String?, defaultAction: String, defaultErrnoRet: UInt32?, architectures: [String], syscalls: [OCISyscallRule]) {
        self.comment = comment
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.syscalls = syscalls
    }

    /// Every syscall name some rule allows (with or without argument conditions).
    public var allowedNames: Set<String> {
        Set(syscalls.filter { $0.action == "SCMP_ACT_ALLOW" }.flatMap(\.names))
    }
}

public struct OCISyscallRule: Codable, Sendable, Equatable {
    public var names: [String]
    public var action: String
    public var errnoRet: UInt32?
    public var args: [OCISyscallArgument]?
    public var comment: String?

    public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [OCISyscallArgument]? = nil, comment: String? = nil) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
        self.comment = comment
    }
}

public struct OCISyscallArgument: Codable, Sendable, Equatable {
    public var index: UInt
    public var value: UInt64
    public var valueTwo: UInt64?
    public var op: String

    public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: String) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }
}

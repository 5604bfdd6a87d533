/// The runtime-spec `linux.seccomp` object (config-linux.md#seccomp), as runc, crun and podman
/// read it, and as `cloister profile` writes a profile file. Wire type only: the generator
/// builds it from typed needs, CloisterSeccomp compiles it, `check` maps it to a posture.
///
/// `architectures` and `syscalls` are OPTIONAL in the spec, so they are optionals here: a
/// profile read and written again keeps an absent key absent.
public struct LinuxSeccomp: Codable, Sendable, Equatable {
    /// What the profile was generated from. Not a runtime-spec field: runtimes ignore unknown
    /// keys (Go's encoding/json, crun's parser), and podman's own profile format has it.
    public var comment: String?
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var syscalls: [Syscall]?

    public init(
        comment: String? = nil, defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil,
        syscalls: [Syscall]?
    ) {
        self.comment = comment
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.syscalls = syscalls
    }

    /// Every syscall name some rule allows (with or without argument conditions).
    public var allowedNames: Set<String> {
        Set((syscalls ?? []).filter { $0.action == "SCMP_ACT_ALLOW" }.flatMap(\.names))
    }

    /// One entry of `syscalls`: the action taken for these names when every argument
    /// condition holds.
    public struct Syscall: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [Argument]?
        /// Why the rule is there. Not a runtime-spec field (see `LinuxSeccomp.comment`).
        public var comment: String?

        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [Argument]? = nil, comment: String? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.comment = comment
        }
    }

    /// A condition on one syscall argument. For `SCMP_CMP_MASKED_EQ`, `value` is the mask and
    /// `valueTwo` the value the masked argument must equal.
    public struct Argument: Codable, Sendable, Equatable {
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
}

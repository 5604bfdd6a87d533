import CloisterModel

/// System call names per architecture, number to name, as libseccomp knows them (the OS
/// layer asks it; this module only looks them up).
public struct SyscallNames: Sendable {
    public let names: [SeccompArchitecture: [UInt32: String]]
    let numbers: [SeccompArchitecture: [String: UInt32]]

    public init(names: [SeccompArchitecture: [UInt32: String]]) {
        self.names = names
        var numbers: [SeccompArchitecture: [String: UInt32]] = [:]
        for (architecture, table) in names {
            var reverse: [String: UInt32] = [:]
            for (number, name) in table { reverse[name] = number }
            numbers[architecture] = reverse
        }
        self.numbers = numbers
    }

    public func number(_ name: String, on architecture: SeccompArchitecture) -> UInt32? { numbers[architecture]?[name] }
}

/// Turns a decoded filter into the posture's `seccomp.syscalls` and `seccomp.reachable`.
public enum SeccompSurface {
    /// The members of each group of `SeccompReachable`, by system call name.
    public static let groupMembers: [String: [String]] = [
        "ioUring": ["io_uring_setup"],
        "bpf": ["bpf"],
        "userfaultfd": ["userfaultfd"],
        "keyctl": ["keyctl", "add_key", "request_key"],
        "perfEventOpen": ["perf_event_open"],
        "namespaceCreation": ["unshare", "clone", "clone3"],
        "mount": ["mount", "move_mount", "fsopen", "fsmount", "open_tree", "fsconfig"],
        "ptrace": ["ptrace"],
        "kexec": ["kexec_load", "kexec_file_load"],
        "moduleLoading": ["init_module", "finit_module"],
        "personality": ["personality"],
    ]

    /// One decision as the posture says it.
    public static func reach(_ decision: SeccompDecision) -> SeccompReach {
        switch decision {
        case .undecided: return .unknown
        case .action(let action):
            switch action.runsCall {
            case true?: return .allowed
            case false?: return .denied
            case nil: return .conditional
            }
        case .conditional(let cases, let complete):
            let runs = Set(cases.map(\.action.runsCall))
            if complete, runs == [false] { return .denied }
            if complete, runs == [true] { return .allowed }
            return .conditional
        }
    }

    /// Several reaches as one: allowed if any is, else conditional, else unknown, else denied.
    public static func weakest(_ reaches: some Sequence<SeccompReach>) -> SeccompReach {
        var result = SeccompReach.denied
        for reach in reaches {
            switch reach {
            case .allowed: return .allowed
            case .conditional: result = .conditional
            case .unknown where result == .denied: result = .unknown
            default: break
            }
        }
        return result
    }

    public static func syscalls(_ table: SeccompTable, names: SyscallNames) -> [SeccompSyscalls] {
        var result: [SeccompSyscalls] = []
        for architecture in SeccompArchitecture.allCases {
            guard let decisions = table.decisions[architecture], let known = names.names[architecture] else { continue }
            var allowed: [String] = []
            var denied: [String] = []
            var conditional: [SeccompConditionalCall] = []
            var undecided: [String] = []
            for (number, name) in known.sorted(by: { $0.value < $1.value }) where number < UInt32(decisions.count) {
                let decision = decisions[Int(number)]
                switch reach(decision) {
                case .allowed: allowed.append(name)
                case .denied: denied.append(name)
                case .unknown: undecided.append(name)
                case .conditional:
                    let (cases, complete) = SeccompEvaluator.asCases(decision)
                    conditional.append(
                        SeccompConditionalCall(
                            name: name, cases: cases.map { SeccompConditionalCase(when: $0.tests, action: $0.action.description) },
                            complete: complete))
                }
            }
            result.append(
                SeccompSyscalls(
                    architecture: architecture.rawValue, allowedCalls: allowed, deniedCalls: denied, conditionalCalls: conditional,
                    undecidedCalls: undecided))
        }
        return result
    }

    public static func reachable(_ table: SeccompTable, names: SyscallNames) -> SeccompReachable {
        var reachable = SeccompReachable(all: .denied)
        for (group, path) in SeccompReachable.groups {
            guard let members = groupMembers[group] else { continue }
            var reaches: [SeccompReach] = []
            for architecture in SeccompArchitecture.allCases {
                for member in members {
                    guard let number = names.number(member, on: architecture),
                        let decision = table.decision(architecture, number)
                    else { continue }
                    reaches.append(reach(decision))
                }
            }
            reachable[keyPath: path] = weakest(reaches)
        }
        var compat: [SeccompReach] = []
        for architecture in [SeccompArchitecture.x86, .x32] {
            for number in (names.names[architecture] ?? [:]).keys {
                if let decision = table.decision(architecture, number) { compat.append(reach(decision)) }
            }
        }
        reachable.compat32 = weakest(compat)
        return reachable
    }
}

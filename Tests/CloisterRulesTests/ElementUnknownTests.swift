import CloisterModel
@testable import CloisterRules
import Testing

/// An unknown field inside one element of a list (the password of one console, the host path of
/// one mount) is unknown for that element only: a `where` is still decided by the others, and a
/// rule that reads the list for another field is not made undecided by it.
@Suite("Rule engine: unknowns inside list elements")
struct ElementUnknownTests {
    static func guest(_ consoles: [Console], unknown: [FieldPath: String] = [:]) -> Posture {
        var posture = HardenedPosture.make(kind: .vm, id: "libvirt:g")
        posture.hypervisor?.consoles = consoles
        posture.unknown = unknown
        return posture
    }

    static let unknownPassword: [FieldPath: String] = ["hypervisor.consoles[0].password": "left to qemu.conf"]

    static func verdicts(_ posture: Posture) -> (fired: Set<String>, undecided: Set<String>) {
        let evaluation = RuleEngine(pack: Shipped.pack).evaluateDetailed([posture])
        return (Set(evaluation.findings.map(\.rule)), Set(evaluation.undetermined.map(\.rule)))
    }

    @Test("a loopback VNC whose password is unknown: the rule is undecided, not silent")
    func undecidedElement() {
        let (fired, undecided) = Self.verdicts(Self.guest(
            [Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true)], unknown: Self.unknownPassword))
        #expect(!fired.contains("vm-console-exposed"))
        #expect(undecided.contains("vm-console-exposed"))
        // Rules reading other fields of the consoles stay decided.
        #expect(!undecided.contains("vm-monitor-tcp"))
    }

    @Test("the same console listening on every interface fires whatever its password")
    func decidedByAnotherField() {
        let (fired, undecided) = Self.verdicts(Self.guest(
            [Console(kind: "vnc", transport: "tcp", address: "0.0.0.0:5900", localOnly: false)], unknown: Self.unknownPassword))
        #expect(fired.contains("vm-console-exposed"))
        #expect(!undecided.contains("vm-console-exposed"))
    }

    @Test("another element decides the rule")
    func decidedByAnotherElement() {
        let consoles = [
            Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true),
            Console(kind: "spice", transport: "tcp", address: "0.0.0.0:5930", localOnly: false, password: true),
        ]
        let (fired, _) = Self.verdicts(Self.guest(consoles, unknown: Self.unknownPassword))
        #expect(fired.contains("vm-console-exposed"))
    }

    @Test("the unknown element is the one named: a decided element at another index stays decided")
    func otherIndex() {
        let consoles = [
            Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true, password: true),
            Console(kind: "qmp", transport: "unix", address: "/run/q.sock", localOnly: true),
        ]
        let unknown: [FieldPath: String] = ["hypervisor.consoles[1].password": "not a display"]
        let (fired, undecided) = Self.verdicts(Self.guest(consoles, unknown: unknown))
        #expect(!fired.contains("vm-console-exposed"))
        #expect(!undecided.contains("vm-console-exposed"))
    }

    @Test("a whole list unknown, or every element's field (written list[]), is still unknown")
    func wholeList() {
        let console = [Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true, password: true)]
        #expect(Self.verdicts(Self.guest(console, unknown: ["hypervisor.consoles": "unreadable"])).undecided.contains("vm-console-exposed"))
        #expect(Self.verdicts(Self.guest(console, unknown: ["hypervisor.consoles[].password": "every one"])).undecided
            .contains("vm-console-exposed"))
    }
}

/// Which unknown paths concern which fields: a path concerns its own field, what holds it and
/// what it holds, never a sibling whose name merely starts the same.
@Suite struct UnknownPathOverlapTests {
    @Test func underMeansTheSameKeyOrAKeyOrIndexBelowIt() {
        #expect(EvaluationContext.isUnder("mac", "mac"))
        #expect(EvaluationContext.isUnder("mac.selinux", "mac"))
        #expect(EvaluationContext.isUnder("mounts[3].source", "mounts"))
        #expect(EvaluationContext.isUnder("mounts[].source", "mounts[]"))
        #expect(!EvaluationContext.isUnder("macOS", "mac"))
        #expect(!EvaluationContext.isUnder("mac", "mac.selinux"))
        #expect(!EvaluationContext.isUnder("ma", "mac"))
        #expect(!EvaluationContext.isUnder("", "mac"))
        #expect(!EvaluationContext.isUnder("mac", ""))
        #expect(EvaluationContext.isUnder("sysctls.kernel.é", "sysctls.kernel.é"))
        #expect(EvaluationContext.isUnder("sysctls.é.x", "sysctls.é"))
        #expect(!EvaluationContext.isUnder("sysctls.éx", "sysctls.é"))
    }

    @Test func overlapGoesBothWays() {
        for (a, b, expected) in [
            ("capabilities", "capabilities.effective", true), ("capabilities.effective", "capabilities", true),
            ("capabilities.effective", "capabilities.bounding", false), ("seccomp", "seccompProfile", false),
            ("hypervisor.consoles[1].password", "hypervisor.consoles", true),
        ] {
            #expect(EvaluationContext.overlaps(a, b) == expected, "\(a) / \(b)")
            #expect(EvaluationContext.related(a, b) == expected, "\(a) / \(b)")
        }
        let context = EvaluationContext(
            postureID: "p", unknownPaths: ["mac.selinux", "mounts[].source"], elementPaths: [], sharedValues: [:])
        #expect(context.isUnknown("mac"))
        #expect(context.isUnknown("mac.selinux.type"))
        #expect(!context.isUnknown("mac.apparmor"))
        #expect(context.isUnknown("mounts[].source"))
        #expect(!context.isUnknown("macs"))
    }
}

/// A filter's return value: the action in the upper 16 bits, its data (an errno, a trace
/// message) in the lower (include/uapi/linux/seccomp.h).
public struct SeccompAction: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case killProcess = "KILL_PROCESS", killThread = "KILL_THREAD", trap = "TRAP", errno = "ERRNO"
        case userNotification = "USER_NOTIF", trace = "TRACE", log = "LOG", allow = "ALLOW"
    }

    public let raw: UInt32

    public init(raw: UInt32) { self.raw = raw }

    public static let allow = SeccompAction(raw: 0x7fff_0000)
    public static let killProcess = SeccompAction(raw: 0x8000_0000)
    public static func errno(_ code: UInt16) -> SeccompAction { SeccompAction(raw: 0x0005_0000 | UInt32(code)) }

    /// The action's bits (SECCOMP_RET_ACTION_FULL).
    var actionBits: UInt32 { raw & 0xffff_0000 }
    public var data: UInt16 { UInt16(truncatingIfNeeded: raw) }

    /// What the kernel does. A value that names no action is run as KILL_PROCESS
    /// (kernel/seccomp.c `__seccomp_filter`, its `default:` case).
    public var kind: Kind {
        switch actionBits {
        case 0x8000_0000: .killProcess
        case 0x0000_0000: .killThread
        case 0x0003_0000: .trap
        case 0x0005_0000: .errno
        case 0x7fc0_0000: .userNotification
        case 0x7ff0_0000: .trace
        case 0x7ffc_0000: .log
        case 0x7fff_0000: .allow
        default: .killProcess
        }
    }

    /// Whether the call runs in the kernel: ALLOW and LOG run it; USER_NOTIF and TRACE hand the
    /// decision to a supervisor or tracer (nil: not the filter's to say); the rest refuse it.
    public var runsCall: Bool? {
        switch kind {
        case .allow, .log: true
        case .userNotification, .trace: nil
        case .killProcess, .killThread, .trap, .errno: false
        }
    }

    /// The kernel runs every filter and keeps the action of highest precedence: the lowest
    /// action bits read as a signed number (kernel/seccomp.c `seccomp_run_filters`:
    /// KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW).
    public func takesPrecedence(over other: SeccompAction) -> Bool {
        Int32(bitPattern: actionBits) < Int32(bitPattern: other.actionBits)
    }

    public var description: String {
        switch kind {
        case .errno: "ERRNO(\(data))"
        case .trace: "TRACE(\(data))"
        case .trap where data != 0: "TRAP(\(data))"
        case .killProcess where actionBits != 0x8000_0000: "KILL_PROCESS(unknown action 0x\(String(raw, radix: 16)))"
        default: kind.rawValue
        }
    }
}

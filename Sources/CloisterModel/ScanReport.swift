/// Facts about the host that bound what any workload on it can be confined by.
public struct HostFacts: Codable, Sendable, Equatable {
    public var hostname: String?
    public var kernel: String?
    public var kernelVersion: String?
    public var architecture: String?
    /// Active LSMs in the kernel's order (`/sys/kernel/security/lsm`); nil when unreadable.
    public var lsms: [String]?
    /// `v2` (unified), `hybrid` (v1 controllers plus a v2 hierarchy) or `v1`.
    public var cgroupVersion: String?
    public var kvm: KVMFacts
    /// `kernel.unprivileged_userns_clone` (Debian) and `user.max_user_namespaces`.
    public var unprivilegedUserNamespaces: Bool?
    public var maxUserNamespaces: Int?
    /// `kernel.unprivileged_bpf_disabled`: 0 allowed, 1 disabled for good, 2 disabled (admin may re-enable).
    public var unprivilegedBPFDisabled: Int?
    /// `kernel.yama.ptrace_scope`, `kernel.kptr_restrict`, `kernel.perf_event_paranoid`.
    public var ptraceScope: Int?
    public var kptrRestrict: Int?
    public var perfEventParanoid: Int?
    /// Landlock ABI version the kernel offers; nil when Landlock is absent or disabled.
    public var landlockABI: Int?
    /// Seccomp actions the kernel supports (`kernel.seccomp.actions_avail`).
    public var seccompActions: [String]?
    public var libseccompVersion: String?
    /// Highest capability number the kernel knows (`kernel.cap_last_cap`).
    public var capLastCap: Int?
    /// The capabilities cloister itself held while it read (every thread's effective set):
    /// `CAP_SYS_PTRACE` and `CAP_DAC_READ_SEARCH` as root, none as an unprivileged user. nil for
    /// a captured tree (`--root`), which is read with no capabilities at all.
    public var scannerCapabilities: [String]?
    public var unknown: [String: String]

    public init() {
        kvm = KVMFacts()
        unknown = [:]
    }
}

public struct KVMFacts: Codable, Sendable, Equatable {
    /// `/dev/kvm` exists.
    public var present: Bool
    /// `/dev/kvm` opens and answers KVM_GET_API_VERSION with 12.
    public var usable: Bool
    public var apiVersion: Int?
    public var reason: String?

    public init(present: Bool = false, usable: Bool = false, apiVersion: Int? = nil, reason: String? = nil) {
        self.present = present
        self.usable = usable
        self.apiVersion = apiVersion
        self.reason = reason
    }
}

/// A problem met during a scan that did not stop it: a workload that exited mid-read, a
/// file that could not be opened. Reported, never silently dropped.
public struct ScanIssue: Codable, Sendable, Equatable {
    public var pid: Int?
    public var workload: String?
    public var message: String

    public init(pid: Int? = nil, workload: String? = nil, message: String) {
        self.pid = pid
        self.workload = workload
        self.message = message
    }
}

/// `cloister scan --format json`.
public struct ScanReport: Codable, Sendable, Equatable {
    public static let schemaID = "cloister.scan/v1"

    public var schema: String
    public var tool: ToolInfo
    /// RFC 3339 UTC time the scan started.
    public var scannedAt: String
    public var host: HostFacts
    public var workloads: [Posture]
    public var findings: [Finding]
    public var issues: [ScanIssue]

    public init(
        tool: ToolInfo = ToolInfo(), scannedAt: String, host: HostFacts, workloads: [Posture],
        findings: [Finding] = [], issues: [ScanIssue] = []
    ) {
        self.schema = Self.schemaID
        self.tool = tool
        self.scannedAt = scannedAt
        self.host = host
        self.workloads = workloads
        self.findings = findings
        self.issues = issues
    }
}

public struct ToolInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String

    public init(name: String = "cloister", version: String = CloisterVersion.current) {
        self.name = name
        self.version = version
    }
}

public enum CloisterVersion {
    public static let current = "0.1.0"
}

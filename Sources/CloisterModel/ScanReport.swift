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
    /// Whether this kernel itself runs in a virtual machine, and under which hypervisor. A scan
    /// inside a guest sees that guest's workloads only; the hypervisor's own confinement and the
    /// host's other guests are out of its sight. nil when nothing could be read.
    public var virtualization: VirtualizationFacts?
    public var unknown: [String: String]

    public init() {
        kvm = KVMFacts()
        unknown = [:]
    }
}

/// How the scanning kernel tells it runs in a guest: the `hypervisor` CPU flag in
/// `/proc/cpuinfo`, CPUID's hypervisor signature, DMI (`/sys/class/dmi/id`), `/sys/hypervisor`.
public struct VirtualizationFacts: Codable, Sendable, Equatable {
    /// True when the kernel runs under a hypervisor.
    public var guest: Bool
    /// `kvm`, `qemu-tcg`, `xen`, `hyperv`, `vmware`, `bhyve`, … nil when the guest cannot tell.
    public var hypervisor: String?
    /// CPUID leaf 0x40000000 vendor signature, as the CPU gives it.
    public var cpuidSignature: String?
    /// DMI system vendor and product (`QEMU`, `Standard PC (Q35 + ICH9, 2009)`, `Amazon EC2`, …).
    public var dmiVendor: String?
    public var dmiProduct: String?
    /// What each conclusion rests on, in words.
    public var evidence: [String]

    public init(guest: Bool, hypervisor: String? = nil, cpuidSignature: String? = nil, dmiVendor: String? = nil,
                dmiProduct: String? = nil, evidence: [String] = []) {
        self.guest = guest
        self.hypervisor = hypervisor
        self.cpuidSignature = cpuidSignature
        self.dmiVendor = dmiVendor
        self.dmiProduct = dmiProduct
        self.evidence = evidence
    }

    /// CPUID signatures of the hypervisors that set one (each vendor's documented leaf 0x40000000).
    public static let signatures: [String: String] = [
        "KVMKVMKVM": "kvm", "TCGTCGTCGTCG": "qemu-tcg", "Microsoft Hv": "hyperv", "VMwareVMware": "vmware",
        "XenVMMXenVMM": "xen", "bhyve bhyve ": "bhyve", " lrpepyh  vr": "parallels", "ACRNACRNACRN": "acrn",
        "QNXQVMBSQG": "qnx", "VBoxVBoxVBox": "virtualbox",
    ]

    /// The conclusion from what was read: CPUID first (the CPU's own word), then /sys/hypervisor,
    /// then DMI.
    public static func decide(
        cpuFlagHypervisor: Bool?, cpuidSignature: String?, sysHypervisorType: String?, dmiVendor: String?, dmiProduct: String?
    ) -> VirtualizationFacts? {
        var evidence: [String] = []
        var hypervisor: String?
        if let flag = cpuFlagHypervisor {
            evidence.append(flag ? "/proc/cpuinfo: the hypervisor CPU flag is set" : "/proc/cpuinfo: no hypervisor CPU flag")
        }
        if let signature = cpuidSignature {
            hypervisor = signatures[signature]
            evidence.append("CPUID 0x40000000 signature \"\(signature)\"")
        }
        if let type = sysHypervisorType, !type.isEmpty {
            hypervisor = hypervisor ?? type
            evidence.append("/sys/hypervisor/type: \(type)")
        }
        if let vendor = dmiVendor {
            evidence.append("DMI: \(vendor)\(dmiProduct.map { " / \($0)" } ?? "")")
            if hypervisor == nil {
                switch vendor {
                case "QEMU": hypervisor = "qemu"
                case "Xen": hypervisor = "xen"
                case "VMware, Inc.": hypervisor = "vmware"
                case "Microsoft Corporation" where dmiProduct == "Virtual Machine": hypervisor = "hyperv"
                case "innotek GmbH": hypervisor = "virtualbox"
                default: if dmiProduct == "KVM" { hypervisor = "kvm" }
                }
            }
        }
        if evidence.isEmpty { return nil }
        let guest = cpuFlagHypervisor == true || cpuidSignature != nil || sysHypervisorType != nil || hypervisor != nil
        return VirtualizationFacts(guest: guest, hypervisor: hypervisor, cpuidSignature: cpuidSignature,
                                   dmiVendor: dmiVendor, dmiProduct: dmiProduct, evidence: evidence)
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

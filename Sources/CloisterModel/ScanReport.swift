/// Facts about the host that bound what any workload on it can be confined by.
public struct HostFacts: Codable, Sendable, Equatable {
    public var hostname: String?
    public var kernel: String?
    public var kernelVersion: String?
    /// The running kernel's real version for CVE matching: Debian's package version from the
    /// version string, a vanilla upstream release, or unknown with why (see KernelBuild).
    public var kernelBuild: KernelBuild?
    public var architecture: String?
    /// Active LSMs in the kernel's order (`/sys/kernel/security/lsm`); nil when unreadable.
    public var lsms: [String]?
    /// SELinux's global mode (`/sys/fs/selinux/enforce`): true enforcing, false permissive (every
    /// denial only logged, so no SELinux label confines: each reads `confined: false`); nil where
    /// SELinux does not run.
    public var selinuxEnforcing: Bool?
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
    /// `vm.unprivileged_userfaultfd` (Linux 5.2+).
    public var unprivilegedUserfaultfd: Int?
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
    /// The container and virtualisation software installed, with versions, as the package
    /// database records them (read, never by running a binary). nil when not looked for.
    public var inventory: SoftwareInventory?
    /// Each known advisory (CVE) judged against `inventory`: affected, not affected, or
    /// undecided with why. The affected ones are also findings with `workload: "host"`.
    public var advisories: [AdvisoryVerdict]?
    /// The container and VM daemons' configuration as the host shows it: each running dockerd's
    /// argv merged with its daemon.json, containerd's socket, libvirt's qemu.conf, with the
    /// ownership and mode of their sockets and files. nil when not looked for.
    public var daemons: [DaemonFacts]?
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

/// One component of the host's container and virtualisation stack, and the package it came in.
public struct InstalledComponent: Codable, Sendable, Equatable {
    /// `runc`, `crun`, `containerd`, `dockerd`, `podman`, `conmon`, `qemu`, `libvirt`,
    /// `nvidia-container-toolkit` or `kernel`.
    public var component: String
    /// The package that installed it (`docker.io`, `qemu-system-x86`, `linux-image-6.1.0-28-amd64`).
    public var package: String?
    /// The version as its package manager writes it (`1.1.5+ds1-1+deb12u1`, `1.1.12-r4`).
    public var version: String
    /// Where the version was read: `dpkg` (/var/lib/dpkg/status), `apk` (/lib/apk/db/installed),
    /// `kernel` (/proc/sys/kernel/osrelease, for the running kernel's release).
    public var source: String

    public init(component: String, package: String? = nil, version: String, source: String) {
        self.component = component
        self.package = package
        self.version = version
        self.source = source
    }
}

/// What the host's package database says is installed, for the components that bound container
/// and VM isolation.
public struct SoftwareInventory: Codable, Sendable, Equatable {
    /// The package database that was read: `dpkg`, `apk`; nil when none could be.
    public var packageManager: String?
    /// `ID` and `VERSION_ID` of /etc/os-release (`debian`, `12`), which decide whose backported
    /// fixes apply.
    public var distribution: String?
    public var distributionVersion: String?
    public var components: [InstalledComponent]
    /// Components or databases that could not be read, with why (an rpm database is not parsed).
    public var unknown: [String: String]

    public init(
        packageManager: String? = nil, distribution: String? = nil, distributionVersion: String? = nil,
        components: [InstalledComponent] = [], unknown: [String: String] = [:]
    ) {
        self.packageManager = packageManager
        self.distribution = distribution
        self.distributionVersion = distributionVersion
        self.components = components
        self.unknown = unknown
    }

    /// Every installed package of a component (a host may carry Debian's and upstream's).
    public func installed(_ component: String) -> [InstalledComponent] {
        components.filter { $0.component == component }
    }
}

/// One daemon's configuration: its effective settings by the daemon's own option names, each with
/// where it was set, and the files whose ownership and mode guard it.
public struct DaemonFacts: Codable, Sendable, Equatable {
    /// `dockerd`, `containerd` or `libvirt` (qemu.conf).
    public var daemon: String
    /// The running daemon's PID; nil when only its configuration file was read.
    public var pid: Int?
    public var command: [String]
    /// The configuration file read (daemon.json, qemu.conf); nil when none exists.
    public var configFile: String?
    /// Effective settings: `icc`, `hosts`, `tlsverify`, `userns-remap`, … for dockerd;
    /// `security_driver`, `user`, `vnc_listen`, … for libvirt.
    public var settings: [String: DaemonSetting]
    public var files: [FileFacts]
    /// What could not be read, with why (a daemon.json that is not JSON).
    public var unknown: [String: String]

    public init(
        daemon: String, pid: Int? = nil, command: [String] = [], configFile: String? = nil,
        settings: [String: DaemonSetting] = [:], files: [FileFacts] = [], unknown: [String: String] = [:]
    ) {
        self.daemon = daemon
        self.pid = pid
        self.command = command
        self.configFile = configFile
        self.settings = settings
        self.files = files
        self.unknown = unknown
    }
}

/// A daemon setting's value(s) and where it was set: `argv`, or `FILE` / `FILE:LINE`.
public struct DaemonSetting: Codable, Sendable, Equatable {
    public var values: [String]
    public var source: String

    public init(_ values: [String], source: String) {
        self.values = values
        self.source = source
    }

    public var value: String? { values.last }
}

/// A file or socket that guards a daemon, as lstat shows it.
public struct FileFacts: Codable, Sendable, Equatable {
    /// What it is to the daemon: `socket`, `config`, `config-directory`.
    public var role: String
    public var path: String
    public var uid: UInt32
    public var gid: UInt32
    /// The group's name from /etc/group, when it has one.
    public var group: String?
    /// Permission bits, `0660`.
    public var mode: String

    public init(role: String, path: String, uid: UInt32, gid: UInt32, group: String? = nil, mode: String) {
        self.role = role
        self.path = path
        self.uid = uid
        self.gid = gid
        self.group = group
        self.mode = mode
    }

    /// The permission bits as a number.
    public var permissions: UInt32 { UInt32(mode, radix: 8) ?? 0o7777 }
}

/// An advisory judged against the installed version of its component.
public struct AdvisoryVerdict: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case affected, notAffected, undecided, notInstalled
    }

    /// The CVE (`CVE-2024-21626`).
    public var advisory: String
    public var component: String
    public var status: Status
    public var package: String?
    public var installed: String?
    /// The version that fixes it for this package: the distribution's where it backports, else upstream's.
    public var fixed: String?
    /// Why: which range or which missing fact decided it.
    public var reason: String
    /// What exploiting it from a container needs beyond the affected version (unprivileged user
    /// namespaces), and whether this host has it: nil where nothing more is needed or the host
    /// does not tell.
    public var condition: String?
    public var conditionMet: Bool?

    public init(
        advisory: String, component: String, status: Status, package: String? = nil, installed: String? = nil,
        fixed: String? = nil, reason: String
    ) {
        self.advisory = advisory
        self.component = component
        self.status = status
        self.package = package
        self.installed = installed
        self.fixed = fixed
        self.reason = reason
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
    /// For a rule that could not be decided: the rule, and why (the unknown fields and why
    /// each is unknown). Reports group the workloads that share both into one line.
    public var rule: String?
    public var reason: String?

    public init(pid: Int? = nil, workload: String? = nil, message: String, rule: String? = nil, reason: String? = nil) {
        self.pid = pid
        self.workload = workload
        self.message = message
        self.rule = rule
        self.reason = reason
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

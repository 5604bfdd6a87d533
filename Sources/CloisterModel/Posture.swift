// The posture of a workload: how it is confined. What the scanner observes in /proc and what a
// configuration file declares are both a Posture, so every rule means the same on both.
// The JSON form (property names below) is the public contract: fields are added, never renamed.

public enum WorkloadKind: String, Codable, Sendable, CaseIterable {
    case container, sandbox, vm
}

/// Whether a posture was read from a running workload or from what a file declares.
public enum PostureSource: String, Codable, Sendable, CaseIterable {
    case observed, declared
}

public struct Posture: Codable, Sendable, Equatable {
    /// Stable identifier: `runtime:id` (for example `podman:3f2a…`, `qemu:pid-4242`).
    public var id: String
    public var kind: WorkloadKind
    /// `podman`, `docker`, `containerd`, `cri-o`, `runc`, `crun`, `lxc`, `systemd-nspawn`,
    /// `bubblewrap`, `firejail`, `unshare`, `qemu`, `firecracker`, `cloud-hypervisor`, `libvirt`.
    /// The engine that manages the workload; the OCI runtime that created it is `ociRuntime`.
    public var runtime: String
    public var name: String
    /// The workload's leading process (container init, sandbox init, hypervisor process).
    public var pid: Int?
    /// Every process that belongs to the workload.
    public var processes: [Int]
    public var command: [String]
    public var source: PostureSource

    public var namespaces: Namespaces
    public var user: UserIdentity
    public var capabilities: CapabilitySets
    public var seccomp: Seccomp?
    public var noNewPrivileges: Bool?
    public var mac: MACLabels
    public var devices: [Device]
    public var mounts: [Mount]
    public var readOnlyRootfs: Bool?
    public var cgroup: CgroupLimits?
    public var exposure: Exposure?
    public var hypervisor: Hypervisor?
    /// Fields that could not be read, keyed by their JSON path, with why. Never guessed.
    public var unknown: [FieldPath: String]
    /// For a declared posture: where the workload is declared.
    public var location: SourceLocation?
    /// For a declared posture: where each field was declared, keyed by its JSON path
    /// (`capabilities.effective`), so a finding lands on the line that caused it.
    public var fieldLocations: [String: SourceLocation]
    /// For a declared posture: JSON paths whose values are the platform's defaults because the
    /// file did not set them (a Kubernetes pod with no seccomp profile runs Unconfined).
    public var defaulted: [String]
    /// For a declared posture: for each defaulted path, which platform default filled it and
    /// where that default is documented, so a reader can check the claim.
    public var defaultSources: [String: String]?
    /// Kubernetes `runtimeClassName` (gVisor, Kata, …): the runtime handler that runs the pod.
    public var runtimeClass: String?
    /// The OCI runtime that created the container (`runc`, `crun`, `runsc`, `kata`, `youki`), as
    /// the host shows it: the state the runtime itself wrote, or its supervisor's argv (conmon's
    /// `-r`, the containerd shim's name). nil where no OCI runtime is involved or none is named;
    /// listed in `unknown` where one is involved and could not be read.
    public var ociRuntime: String?
    /// Paths hidden from the workload (OCI `maskedPaths`: /proc/kcore, /sys/firmware, …).
    public var maskedPaths: [String]?
    /// Paths made read-only inside the workload (OCI `readonlyPaths`: /proc/sys, …).
    public var readOnlyPaths: [String]?
    /// For a posture read from a Kubernetes pod spec: the pod's isolation fields that have no
    /// other place in the posture, and the Pod Security Standards level the pod meets.
    public var kubernetes: KubernetesPod?
    /// For an observed posture scanned with `--declared`: each way the kernel shows the workload
    /// less confined than its engine's own configuration declares (empty: none). nil when no
    /// declared configuration was compared.
    public var drift: [Drift]?
    /// OCI hooks the runtime runs on the host for this container (prestart, createRuntime, …):
    /// each runs outside the container, with the runtime's privileges. Declared only: a scan
    /// lists them with `--declared`, from the bundle.
    public var hooks: [RuntimeHook]?
    /// Resource limits of the workload's process (`/proc/PID/limits`; OCI `process.rlimits`),
    /// for the limits the kernel or the file names. nil when neither side was read.
    public var rlimits: [ResourceLimit]?
    /// Kernel parameters the runtime sets inside the workload's namespaces (OCI `linux.sysctl`,
    /// Docker `--sysctl`). Declared only: a scan cannot tell a set value from a default.
    public var sysctls: [String: String]?
    /// Intel RDT (resctrl) class of service the workload is placed in (OCI `linux.intelRdt`):
    /// workloads that share a class share its cache and memory-bandwidth allocation.
    public var intelRdt: IntelRDT?
    /// The host kernel's settings that decide whether a system call the seccomp filter lets
    /// through is worth anything to an attacker (unprivileged bpf, userfaultfd, perf events).
    /// Observed only: a scan copies them from the host it reads; a configuration file cannot say
    /// which node it will run on, so `check` lists the field under `unknown`.
    public var kernelSettings: KernelSettings?
    /// What the engine keeps for a running container that the kernel does not show (Docker's
    /// `config.v2.json` and `hostconfig.json`): health check, restart policy, networks,
    /// published ports, ulimit overrides. nil where the engine keeps none that cloister reads;
    /// for a container of another OCI engine its fields are listed in `unknown`.
    public var engineSettings: EngineSettings?

    public init(
        id: String, kind: WorkloadKind, runtime: String, name: String, pid: Int? = nil,
        processes: [Int] = [], command: [String] = [], source: PostureSource = .observed,
        namespaces: Namespaces = Namespaces(), user: UserIdentity = UserIdentity(),
        capabilities: CapabilitySets = CapabilitySets(), seccomp: Seccomp? = nil,
        noNewPrivileges: Bool? = nil, mac: MACLabels = MACLabels(), devices: [Device] = [],
        mounts: [Mount] = [], readOnlyRootfs: Bool? = nil, cgroup: CgroupLimits? = nil,
        exposure: Exposure? = nil, hypervisor: Hypervisor? = nil, unknown: [FieldPath: String] = [:]
    ) {
        self.id = id
        self.kind = kind
        self.runtime = runtime
        self.name = name
        self.pid = pid
        self.processes = processes
        self.command = command
        self.source = source
        self.namespaces = namespaces
        self.user = user
        self.capabilities = capabilities
        self.seccomp = seccomp
        self.noNewPrivileges = noNewPrivileges
        self.mac = mac
        self.devices = devices
        self.mounts = mounts
        self.readOnlyRootfs = readOnlyRootfs
        self.cgroup = cgroup
        self.exposure = exposure
        self.hypervisor = hypervisor
        self.unknown = unknown
        self.location = nil
        self.fieldLocations = [:]
        self.defaulted = []
    }
}

// MARK: - Engine settings

/// A container's settings as its engine keeps them, for what the kernel cannot show: whether a
/// health check runs, what restarts the container, which networks and host ports it has.
public struct EngineSettings: Codable, Sendable, Equatable {
    /// The files read (`…/containers/ID/config.v2.json`, `…/hostconfig.json`).
    public var sources: [String]
    /// A health check is configured: the image's HEALTHCHECK or `--health-cmd`; `NONE` is none.
    public var healthCheck: Bool?
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    public var restartPolicy: String?
    /// `on-failure`'s maximum retry count (0: unlimited).
    public var restartMaxRetries: Int?
    /// The networks the container is attached to (`bridge` is Docker's default docker0).
    public var networks: [String]?
    /// The host ports the engine bound for the container (Docker `NetworkSettings.Ports`).
    public var publishedPorts: [PublishedPort]?
    /// Resource limits set for this container at run time (`--ulimit`), overriding the daemon's defaults.
    public var ulimits: [ResourceLimit]?

    public init(sources: [String]) {
        self.sources = sources
    }
}

/// A host port bound for a container: `hostIP:hostPort` → `containerPort/protocol`.
public struct PublishedPort: Codable, Sendable, Equatable {
    /// As the engine bound it: `0.0.0.0`, `::` or empty for every interface.
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    public var `protocol`: String
    /// Bound on every host interface (`0.0.0.0`, `::`, or no address).
    public var allInterfaces: Bool

    public init(hostIP: String, hostPort: Int, containerPort: Int, protocol: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.allInterfaces = ["", "0.0.0.0", "::", "[::]"].contains(hostIP)
    }
}

// MARK: - Resource limits

/// One resource limit as `/proc/PID/limits` shows it: `RLIMIT_NOFILE`, soft and hard as decimal
/// numbers or `unlimited` (values past 2^53 do not survive JSON numbers, so they are text).
public struct ResourceLimit: Codable, Sendable, Equatable {
    public var name: String
    public var soft: String
    public var hard: String

    public init(name: String, soft: String, hard: String) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    public static let unlimitedValue = "unlimited"

    /// A limit value as text: RLIM_INFINITY (2^64-1) is `unlimited`.
    public static func text(_ value: UInt64) -> String {
        value == UInt64.max ? unlimitedValue : String(value)
    }

    /// `a` allows more than `b` (unlimited is above every number).
    public static func exceeds(_ a: String, _ b: String) -> Bool {
        if a == b { return false }
        if a == unlimitedValue { return true }
        if b == unlimitedValue { return false }
        guard let x = UInt64(a), let y = UInt64(b) else { return false }
        return x > y
    }
}

/// OCI `linux.intelRdt`: the resctrl group and the schemata the runtime writes.
public struct IntelRDT: Codable, Sendable, Equatable {
    public var closID: String?
    public var l3CacheSchema: String?
    public var memBwSchema: String?

    public init(closID: String? = nil, l3CacheSchema: String? = nil, memBwSchema: String? = nil) {
        self.closID = closID
        self.l3CacheSchema = l3CacheSchema
        self.memBwSchema = memBwSchema
    }
}

// MARK: - Namespaces

public enum NamespaceType: String, Codable, Sendable, CaseIterable {
    case pid, net, mnt, ipc, uts, user, cgroup, time
}

/// `private`: the workload has its own namespace. `host`: it shares the host's (PID 1's).
public enum NamespaceSharing: String, Codable, Sendable, CaseIterable {
    case `private`, host
}

public struct Namespaces: Codable, Sendable, Equatable {
    public var pid: NamespaceSharing?
    public var net: NamespaceSharing?
    public var mnt: NamespaceSharing?
    public var ipc: NamespaceSharing?
    public var uts: NamespaceSharing?
    public var user: NamespaceSharing?
    public var cgroup: NamespaceSharing?
    public var time: NamespaceSharing?

    public init() {}

    public subscript(type: NamespaceType) -> NamespaceSharing? {
        get {
            switch type {
            case .pid: pid
            case .net: net
            case .mnt: mnt
            case .ipc: ipc
            case .uts: uts
            case .user: user
            case .cgroup: cgroup
            case .time: time
            }
        }
        set {
            switch type {
            case .pid: pid = newValue
            case .net: net = newValue
            case .mnt: mnt = newValue
            case .ipc: ipc = newValue
            case .uts: uts = newValue
            case .user: user = newValue
            case .cgroup: cgroup = newValue
            case .time: time = newValue
            }
        }
    }
}

// MARK: - User

/// One line of `/proc/PID/uid_map` or `gid_map`: IDs `inside ..< inside+count` in the
/// workload's user namespace are `outside ..< outside+count` on the host.
public struct IDMapRange: Codable, Sendable, Equatable {
    public var inside: UInt32
    public var outside: UInt32
    public var count: UInt32

    public init(inside: UInt32, outside: UInt32, count: UInt32) {
        self.inside = inside
        self.outside = outside
        self.count = count
    }

    /// The host ID that `id` inside maps to, if this range covers it.
    public func hostID(for id: UInt32) -> UInt32? {
        guard id >= inside, UInt64(id) < UInt64(inside) + UInt64(count) else { return nil }
        // The kernel refuses a map whose outside range passes 2^32, but a map read from a
        // captured tree or a file need not be one the kernel accepted (found by fuzz-id-map).
        let (host, overflow) = outside.addingReportingOverflow(id - inside)
        return overflow ? nil : host
    }
}

public struct UserIdentity: Codable, Sendable, Equatable {
    /// Effective user and group ID as the workload sees them (inside its user namespace).
    public var uid: UInt32?
    public var gid: UInt32?
    /// The same effective IDs as the host sees them.
    public var hostUid: UInt32?
    public var hostGid: UInt32?
    public var uidMap: [IDMapRange]
    public var gidMap: [IDMapRange]
    /// True when UID 0 inside the workload is UID 0 on the host.
    public var rootMappedToHost: Bool?
    /// Supplementary groups (inside the user namespace): `Groups:` of `/proc/PID/status`, OCI
    /// `process.user.additionalGids`. nil when not known.
    public var groups: [UInt32]?

    public init(
        uid: UInt32? = nil, gid: UInt32? = nil, hostUid: UInt32? = nil, hostGid: UInt32? = nil,
        uidMap: [IDMapRange] = [], gidMap: [IDMapRange] = [], rootMappedToHost: Bool? = nil
    ) {
        self.uid = uid
        self.gid = gid
        self.hostUid = hostUid
        self.hostGid = hostGid
        self.uidMap = uidMap
        self.gidMap = gidMap
        self.rootMappedToHost = rootMappedToHost
    }
}

// MARK: - Capabilities

/// Capability sets as `CAP_*` names, sorted by capability number.
public struct CapabilitySets: Codable, Sendable, Equatable {
    public var effective: [String]
    public var permitted: [String]
    public var bounding: [String]
    public var ambient: [String]
    public var inheritable: [String]

    public init(
        effective: [String] = [], permitted: [String] = [], bounding: [String] = [],
        ambient: [String] = [], inheritable: [String] = []
    ) {
        self.effective = effective
        self.permitted = permitted
        self.bounding = bounding
        self.ambient = ambient
        self.inheritable = inheritable
    }
}

/// The five capability sets a thread has, named as `CapabilitySets`' properties and the JSON.
public enum CapabilitySet: String, Codable, Sendable, CaseIterable {
    case effective, permitted, bounding, ambient, inheritable
}

// MARK: - Seccomp

public enum SeccompMode: String, Codable, Sendable, CaseIterable {
    case disabled, strict, filter
}

public struct Seccomp: Codable, Sendable, Equatable {
    public var mode: SeccompMode
    /// Number of filters attached (`Seccomp_filters` in status), when the kernel says.
    public var filters: Int?
    /// For multi-threaded hypervisors: how many threads were inspected and how many had no
    /// filter. A sandbox that leaves any thread unfiltered is weaker than its main thread says.
    public var threads: Int?
    public var threadsUnfiltered: Int?
    /// Where `syscalls` and `reachable` come from: the filters the kernel holds (`kernel`) or
    /// a profile a file declares (`declared`). nil when the filter was not decoded.
    public var source: SeccompFilterSource?
    /// What the filter does with each system call, per architecture it was decoded for.
    public var syscalls: [SeccompSyscalls]?
    /// The groups of system calls that escapes and kernel exploits go through, and whether the
    /// filter lets them run.
    public var reachable: SeccompReachable?

    public init(mode: SeccompMode, filters: Int? = nil, threads: Int? = nil, threadsUnfiltered: Int? = nil) {
        self.mode = mode
        self.filters = filters
        self.threads = threads
        self.threadsUnfiltered = threadsUnfiltered
    }
}

public enum SeccompFilterSource: String, Codable, Sendable, CaseIterable {
    /// Read from the kernel with PTRACE_SECCOMP_GET_FILTER.
    case kernel
    /// Compiled from the profile a configuration declares.
    case declared
}

/// Whether a filter lets a system call (or a group of them) run.
public enum SeccompReach: String, Codable, Sendable, CaseIterable {
    /// Runs whatever its arguments (ALLOW or LOG).
    case allowed
    /// Refused whatever its arguments (ERRNO, TRAP, KILL).
    case denied
    /// Depends on the arguments, or a supervisor (USER_NOTIF) or tracer (TRACE) decides.
    case conditional
    /// Could not be told (the filter could not be decoded).
    case unknown
}

/// What a filter does on one architecture's entry point (`x86_64`, `x86`, `x32`).
public struct SeccompSyscalls: Codable, Sendable, Equatable {
    /// libseccomp's architecture name.
    public var architecture: String
    public var allowed: Int
    public var denied: Int
    public var conditional: Int
    /// Calls whose decision the evaluator could not reach (too many paths); absent when none.
    public var undecided: Int?
    public var allowedCalls: [String]
    public var deniedCalls: [String]
    public var conditionalCalls: [SeccompConditionalCall]
    public var undecidedCalls: [String]?

    public init(
        architecture: String, allowedCalls: [String], deniedCalls: [String], conditionalCalls: [SeccompConditionalCall],
        undecidedCalls: [String] = []
    ) {
        self.architecture = architecture
        self.allowed = allowedCalls.count
        self.denied = deniedCalls.count
        self.conditional = conditionalCalls.count
        self.undecided = undecidedCalls.isEmpty ? nil : undecidedCalls.count
        self.allowedCalls = allowedCalls
        self.deniedCalls = deniedCalls
        self.conditionalCalls = conditionalCalls
        self.undecidedCalls = undecidedCalls.isEmpty ? nil : undecidedCalls
    }
}

/// A system call whose action depends on its arguments: each outcome with the tests leading
/// to it, as the filter makes them.
public struct SeccompConditionalCall: Codable, Sendable, Equatable {
    public var name: String
    public var cases: [SeccompConditionalCase]
    /// False when the filter had more outcomes than are listed.
    public var complete: Bool

    public init(name: String, cases: [SeccompConditionalCase], complete: Bool) {
        self.name = name
        self.cases = cases
        self.complete = complete
    }
}

public struct SeccompConditionalCase: Codable, Sendable, Equatable {
    /// The tests on the path (`args[0] low word has no bit of 0x7e020000`).
    public var when: [String]
    /// `ALLOW`, `ERRNO(1)`, `KILL_PROCESS`, …
    public var action: String

    public init(when: [String], action: String) {
        self.when = when
        self.action = action
    }
}

/// The groups of system calls that escapes and kernel exploits reach through. Each is
/// `allowed` when some member runs unconditionally on some decoded architecture.
public struct SeccompReachable: Codable, Sendable, Equatable {
    /// io_uring_setup (io_uring_enter and io_uring_register need a ring it made).
    public var ioUring: SeccompReach
    public var bpf: SeccompReach
    public var userfaultfd: SeccompReach
    /// keyctl, add_key, request_key.
    public var keyctl: SeccompReach
    public var perfEventOpen: SeccompReach
    /// unshare, clone with namespace flags, clone3 (whose flags sit in memory seccomp cannot
    /// read: allowed clone3 is allowed namespace creation).
    public var namespaceCreation: SeccompReach
    /// mount, move_mount, fsopen, fsmount, open_tree, fsconfig.
    public var mount: SeccompReach
    public var ptrace: SeccompReach
    /// kexec_load, kexec_file_load.
    public var kexec: SeccompReach
    /// init_module, finit_module.
    public var moduleLoading: SeccompReach
    public var personality: SeccompReach
    /// Any call through the 32-bit entry points (i386 or x32) on an x86_64 kernel.
    public var compat32: SeccompReach

    public init(all reach: SeccompReach) {
        ioUring = reach
        bpf = reach
        userfaultfd = reach
        keyctl = reach
        perfEventOpen = reach
        namespaceCreation = reach
        mount = reach
        ptrace = reach
        kexec = reach
        moduleLoading = reach
        personality = reach
        compat32 = reach
    }

    /// The groups by their JSON names, in the order above.
    public static var groups: [(name: String, path: WritableKeyPath<SeccompReachable, SeccompReach>)] {
        [
            ("ioUring", \.ioUring), ("bpf", \.bpf), ("userfaultfd", \.userfaultfd), ("keyctl", \.keyctl),
            ("perfEventOpen", \.perfEventOpen), ("namespaceCreation", \.namespaceCreation), ("mount", \.mount),
            ("ptrace", \.ptrace), ("kexec", \.kexec), ("moduleLoading", \.moduleLoading), ("personality", \.personality),
            ("compat32", \.compat32),
        ]
    }
}

/// Host kernel settings behind the seccomp-surface rules, as `/proc/sys` shows them. nil: the
/// file is absent (the kernel predates the setting or was built without the feature).
public struct KernelSettings: Codable, Sendable, Equatable {
    /// `kernel.unprivileged_bpf_disabled`: 0 lets unprivileged users load socket-filter programs,
    /// 1 and 2 refuse them.
    public var unprivilegedBPFDisabled: Int?
    /// `vm.unprivileged_userfaultfd` (Linux 5.2+): 1 lets unprivileged users handle faults from
    /// kernel mode too; 0 (the default) limits them to user-mode faults unless they hold
    /// CAP_SYS_PTRACE.
    public var unprivilegedUserfaultfd: Int?
    /// `kernel.perf_event_paranoid`: 3 (Debian's and Android's patch) refuses perf_event_open to
    /// unprivileged users; 2 and below let them in.
    public var perfEventParanoid: Int?
    /// `kernel.yama.ptrace_scope`: 0 classic, 1 descendants only, 2 CAP_SYS_PTRACE only, 3 none.
    public var ptraceScope: Int?

    public init(
        unprivilegedBPFDisabled: Int? = nil, unprivilegedUserfaultfd: Int? = nil, perfEventParanoid: Int? = nil,
        ptraceScope: Int? = nil
    ) {
        self.unprivilegedBPFDisabled = unprivilegedBPFDisabled
        self.unprivilegedUserfaultfd = unprivilegedUserfaultfd
        self.perfEventParanoid = perfEventParanoid
        self.ptraceScope = ptraceScope
    }
}

// MARK: - MAC

public struct AppArmorLabel: Codable, Sendable, Equatable {
    /// Profile name, or `unconfined`.
    public var profile: String
    /// `enforce`, `complain`, `kill`, `unconfined`, … as the kernel reports it.
    public var mode: String?
    public var confined: Bool

    public init(profile: String, mode: String?) {
        self.profile = profile
        self.mode = mode
        self.confined = profile != "unconfined" && mode != "unconfined" && mode != "complain"
    }
}

public struct SELinuxLabel: Codable, Sendable, Equatable {
    public var context: String
    public var user: String?
    public var role: String?
    public var type: String?
    /// MLS/MCS level and categories (`s0:c12,c34`): what keeps sibling containers apart.
    public var level: String?
    public var confined: Bool
    /// The policy makes this domain permissive (`typepermissive`) on an enforcing host: it is
    /// refused nothing, so it does not confine. Nil where the kernel was not asked.
    public var permissiveDomain: Bool?

    /// Domains that SELinux policies define as unconfined or as a superprivileged container.
    public static let unconfinedTypes: Set<String> = [
        "unconfined_t", "spc_t", "kernel_t", "initrc_t", "unconfined_service_t", "container_runtime_t",
    ]

    public init(context: String, user: String?, role: String?, type: String?, level: String?) {
        self.context = context
        self.user = user
        self.role = role
        self.type = type
        self.level = level
        self.confined = type.map { !Self.unconfinedTypes.contains($0) } ?? false
    }
}

/// Mandatory access control labels. `nil` means the workload is not confined by that LSM
/// (the LSM is not active on the host); an unconfined label under an active LSM is present
/// with `confined: false`.
public struct MACLabels: Codable, Sendable, Equatable {
    public var apparmor: AppArmorLabel?
    public var selinux: SELinuxLabel?

    public init(apparmor: AppArmorLabel? = nil, selinux: SELinuxLabel? = nil) {
        self.apparmor = apparmor
        self.selinux = selinux
    }

    public var confined: Bool { (apparmor?.confined ?? false) || (selinux?.confined ?? false) }
}

// MARK: - Devices and mounts

public enum DeviceSource: String, Codable, Sendable, CaseIterable {
    /// An open file descriptor of one of the workload's processes.
    case fd
    /// A device node inside the workload's root filesystem.
    case rootfs
    /// Declared in a configuration file.
    case config
}

public struct Device: Codable, Sendable, Equatable {
    /// Path as the workload sees it (`/dev/kvm`).
    public var path: String
    /// `r`, `w`, `rw`; `m` added where mknod is allowed (cgroup v1 device list).
    public var access: String
    public var source: DeviceSource
    /// `char` or `block`, when known.
    public var type: String?
    public var major: UInt32?
    public var minor: UInt32?
    /// One of the devices every OCI container gets (null, zero, full, random, urandom, tty,
    /// console, ptmx, pts): rules about exposed devices look past these.
    public var standard: Bool

    public init(
        path: String, access: String, source: DeviceSource, type: String? = nil, major: UInt32? = nil,
        minor: UInt32? = nil
    ) {
        self.path = path
        self.access = access
        self.source = source
        self.type = type
        self.major = major
        self.minor = minor
        self.standard = Device.isStandard(path)
    }

    public static let standardPaths: Set<String> = [
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
        "/dev/console", "/dev/ptmx", "/dev/pts/ptmx",
    ]

    public static func isStandard(_ path: String) -> Bool {
        if standardPaths.contains(path) { return true }
        // Pseudo-terminals the workload allocated for itself in its own devpts.
        if path.hasPrefix("/dev/pts/"), path.dropFirst(9).allSatisfy(\.isNumber) { return true }
        return false
    }
}

public struct Mount: Codable, Sendable, Equatable {
    /// What is mounted: the device or pseudo source (`/dev/vda1`, `proc`, `overlay`).
    public var source: String
    /// Where, as the workload sees it.
    public var target: String
    public var readOnly: Bool
    public var type: String
    /// For a bind mount: the path within the source filesystem (mountinfo's root field).
    public var root: String?
    /// For a bind mount of a host directory: that directory's path on the host.
    public var hostPath: String?
    public var options: [String]
    /// The engine that keeps this host file for this workload and bound it in (`docker` for
    /// the container's own `containers/ID/hosts`, `kubelet` for its pod's projected volumes):
    /// set only where the path is that engine's per-workload file for this very workload
    /// (`EngineFiles`). A path the workload's owner chose is never engine-managed.
    public var managedBy: String?
    /// Mount propagation with the host, from mountinfo's optional fields: `shared` (in a peer
    /// group with a host mount: mounts made on either side appear on the other), `slave`
    /// (receives the host's), `private` (nothing crosses, including a peer group only among the
    /// workload's own mounts), `unbindable`. nil for a declared mount that does not say.
    public var propagation: String?

    public init(
        source: String, target: String, readOnly: Bool, type: String, root: String? = nil,
        hostPath: String? = nil, options: [String] = [], managedBy: String? = nil
    ) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.type = type
        self.root = root
        self.hostPath = hostPath
        self.options = options
        self.managedBy = managedBy
    }
}

// MARK: - Cgroups

/// A cgroup limit: a number, or `max` (no limit).
public enum Limit: Codable, Sendable, Equatable, CustomStringConvertible {
    case max
    case value(UInt64)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            self = .value(number)
        } else {
            let text = try container.decode(String.self)
            guard text == "max" else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "a limit is a number or \"max\", not \"\(text)\"")
            }
            self = .max
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .max: try container.encode("max")
        case .value(let number): try container.encode(number)
        }
    }

    public var description: String {
        switch self {
        case .max: "max"
        case .value(let number): String(number)
        }
    }

    public var isLimited: Bool { if case .value = self { true } else { false } }
}

public struct CgroupLimits: Codable, Sendable, Equatable {
    /// `v2` (unified), `v1` (legacy) or `hybrid` (v1 controllers beside a v2 hierarchy: each
    /// limit read from whichever hierarchy holds its controller); `declared` when from `check`.
    public var version: String
    /// The workload's cgroup path (v2, or the v1 memory hierarchy's).
    public var path: String
    public var memoryMax: Limit?
    public var memorySwapMax: Limit?
    public var pidsMax: Limit?
    /// CPU bandwidth: quota per period in microseconds (`max` for no quota).
    public var cpuQuota: Limit?
    public var cpuPeriod: UInt64?
    /// cgroup v2 cpu.weight, or v1 cpu.shares.
    public var cpuWeight: UInt64?
    /// cgroup v1 devices.list says every device is allowed (`a *:* rwm`).
    public var devicesAllowAll: Bool?
    /// A CPU priority other than the default is set: v1 cpu.shares other than 1024; v2
    /// cpu.weight other than 100 (the kernel's default) and 39 (what runc writes for 1024
    /// shares). nil where neither file was read.
    public var cpuPrioritySet: Bool?

    public init(version: String, path: String) {
        self.version = version
        self.path = path
    }
}

// MARK: - Exposure

public struct Exposure: Codable, Sendable, Equatable {
    /// 0.0 (perfectly confined) to 10.0 (fully exposed).
    public var score: Double
    public var level: String

    public init(score: Double, level: String) {
        self.score = score
        self.level = level
    }
}

// MARK: - Hypervisor

public struct Hypervisor: Codable, Sendable, Equatable {
    /// `qemu`, `firecracker`, `cloud-hypervisor`.
    public var emulator: String
    public var binary: String?
    /// `kvm` or `tcg` (or `unknown`), from the process's open KVM file descriptors.
    public var accelerator: String
    /// vCPU file descriptors open (KVM only).
    public var vcpus: Int?
    public var machine: String?
    public var sandbox: HypervisorSandbox
    public var user: ProcessUser
    public var consoles: [Console]
    public var network: [NetworkBackend]
    public var passthrough: [Passthrough]
    /// Emulated legacy devices with a record of escapes (floppy: VENOM, CVE-2015-3456).
    public var legacyDevices: [String]
    /// TCP endpoints the hypervisor process is listening on, from the kernel's socket tables.
    public var listening: [String]
    public var uuid: String?

    public init(
        emulator: String, binary: String? = nil, accelerator: String, vcpus: Int? = nil,
        machine: String? = nil, sandbox: HypervisorSandbox = HypervisorSandbox(enabled: false),
        user: ProcessUser = ProcessUser(), consoles: [Console] = [], network: [NetworkBackend] = [],
        passthrough: [Passthrough] = [], legacyDevices: [String] = [], listening: [String] = [],
        uuid: String? = nil
    ) {
        self.emulator = emulator
        self.binary = binary
        self.accelerator = accelerator
        self.vcpus = vcpus
        self.machine = machine
        self.sandbox = sandbox
        self.user = user
        self.consoles = consoles
        self.network = network
        self.passthrough = passthrough
        self.legacyDevices = legacyDevices
        self.listening = listening
        self.uuid = uuid
    }
}

public struct HypervisorSandbox: Codable, Sendable, Equatable {
    /// qemu `-sandbox on` (or Firecracker/Cloud Hypervisor's built-in seccomp) requested.
    public var enabled: Bool
    /// The `-sandbox` options as given (`obsolete: deny`, `spawn: deny`, …).
    public var options: [String: String]

    public init(enabled: Bool, options: [String: String] = [:]) {
        self.enabled = enabled
        self.options = options
    }
}

public struct ProcessUser: Codable, Sendable, Equatable {
    public var uid: UInt32?
    public var name: String?

    public init(uid: UInt32? = nil, name: String? = nil) {
        self.uid = uid
        self.name = name
    }
}

/// A way into the guest or the hypervisor from outside: display, monitor, serial, debugger.
public struct Console: Codable, Sendable, Equatable {
    /// `vnc`, `spice`, `monitor`, `qmp`, `serial` (a serial port or console: a terminal into the
    /// guest), `channel` (a virtio-serial port such as the guest agent's), `parallel`, `chardev`
    /// (a socket no known front end uses), `gdb`, `migration`.
    public var kind: String
    /// `tcp`, `unix`, `websocket`, `pty`, `stdio`, `file`, `none`, …
    public var transport: String
    /// Listening address (`0.0.0.0:5900`, `/run/qemu/vm.sock`).
    public var address: String?
    /// True when only this host can connect (loopback or a UNIX socket).
    public var localOnly: Bool?
    public var password: Bool?
    public var tls: Bool?

    public init(
        kind: String, transport: String, address: String? = nil, localOnly: Bool? = nil,
        password: Bool? = nil, tls: Bool? = nil
    ) {
        self.kind = kind
        self.transport = transport
        self.address = address
        self.localOnly = localOnly
        self.password = password
        self.tls = tls
    }
}

public struct NetworkBackend: Codable, Sendable, Equatable {
    /// `user` (SLiRP), `tap`, `bridge`, `vhost-user`, `socket`, …
    public var type: String
    public var id: String?
    /// True when qemu created it because nothing else was asked for.
    public var implicit: Bool

    public init(type: String, id: String? = nil, implicit: Bool = false) {
        self.type = type
        self.id = id
        self.implicit = implicit
    }
}

public struct Passthrough: Codable, Sendable, Equatable {
    /// `vfio`, `mdev`, `usb-host`, `pci-assign`, `scsi-generic`, `scsi-block`, `vhost-scsi`.
    public var kind: String
    /// Host address of the device (`0000:01:00.0`, `hostbus=1,hostaddr=3`, `/dev/vfio/12`).
    public var host: String

    public init(kind: String, host: String) {
        self.kind = kind
        self.host = host
    }
}

// MARK: - Drift

/// One difference between what a workload's configuration declares and what the kernel shows,
/// that weakens confinement: `field` is the posture path (`seccomp.mode`), both values as text.
public struct Drift: Codable, Sendable, Equatable {
    public var field: String
    public var declared: String
    public var observed: String
    /// The configuration file that declared it (a bundle's config.json).
    public var source: String

    public init(field: String, declared: String, observed: String, source: String) {
        self.field = field
        self.declared = declared
        self.observed = observed
        self.source = source
    }
}

/// One OCI hook: the stage it runs at and the host program it runs.
public struct RuntimeHook: Codable, Sendable, Equatable {
    /// `prestart`, `createRuntime`, `createContainer`, `startContainer`, `poststart`, `poststop`.
    public var stage: String
    public var path: String
    public var args: [String]

    public init(stage: String, path: String, args: [String] = []) {
        self.stage = stage
        self.path = path
        self.args = args
    }
}

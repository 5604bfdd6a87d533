import CloisterCodec
import CloisterModel

/// What a posture field holds, for checking conditions on load.
public indirect enum FieldShape: Sendable, Equatable {
    case string, number, bool
    /// A cgroup limit: a number or the string `max`.
    case limit
    case object
    /// A dictionary with free keys (`unknown`, `hypervisor.sandbox.options`).
    case map(FieldShape)
    case array(FieldShape)

    var name: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .limit: "a limit (a number or max)"
        case .object: "an object"
        case .map: "a map"
        case .array(let element): "a list of \(element.plainName)"
        }
    }

    var plainName: String {
        switch self {
        case .string: "strings"
        case .number: "numbers"
        case .bool: "booleans"
        case .limit: "limits"
        case .object: "objects"
        case .map: "maps"
        case .array: "lists"
        }
    }

    func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.string, .string), (.number, .number), (.bool, .bool): true
        case (.limit, .number): true
        case (.limit, .string(let text)): text == "max"
        default: false
        }
    }
}

/// Every field path of the posture contract, derived by encoding a posture with every field
/// set. Paths use `.` between keys and `[]` for each element of a list:
/// `mounts[].hostPath`, `hypervisor.consoles[].address`.
public struct FieldCatalogue: Sendable {
    public let shapes: [String: FieldShape]

    /// Fields whose keys are free-form: the JSON path is a dictionary, not a structure.
    static let mapPaths: Set<String> = ["unknown", "fieldLocations", "defaultSources", "hypervisor.sandbox.options"]
    /// `Limit` encodes as a number or `max`; the sample can only show one of the two.
    static let limitPaths: Set<String> = ["cgroup.memoryMax", "cgroup.memorySwapMax", "cgroup.pidsMax", "cgroup.cpuQuota"]

    public static let posture: FieldCatalogue = {
        var shapes: [String: FieldShape] = [:]
        if let tree = try? JSONValue.encode(FieldCatalogue.samplePosture()) {
            collect(tree, path: "", into: &shapes)
        }
        return FieldCatalogue(shapes: shapes)
    }()

    /// Fields that hold one of a closed set of words: a condition naming another is a mistake.
    public static let allowedValues: [String: [String]] = {
        // From the model's enums, so a case added there is accepted here at once.
        var values: [String: [String]] = [
            "kind": WorkloadKind.allCases.map(\.rawValue),
            "source": PostureSource.allCases.map(\.rawValue),
            FieldPath.seccompMode.absolute: SeccompMode.allCases.map(\.rawValue),
            "devices[].source": DeviceSource.allCases.map(\.rawValue),
        ]
        for type in NamespaceType.allCases {
            values[FieldPath.namespace(type).absolute] = NamespaceSharing.allCases.map(\.rawValue)
        }
        values["seccomp.source"] = SeccompFilterSource.allCases.map(\.rawValue)
        for (group, _) in SeccompReachable.groups {
            values["seccomp.reachable." + group] = SeccompReach.allCases.map(\.rawValue)
        }
        values["mounts[].propagation"] = ["shared", "slave", "private", "unbindable"]
        values["engineSettings.restartPolicy"] = ["no", "always", "unless-stopped", "on-failure"]
        return values
    }()

    public func shape(of path: String) -> FieldShape? {
        if let shape = shapes[path] { return shape }
        // A key inside a free-form map.
        for mapPath in Self.mapPaths where path.hasPrefix(mapPath + ".") {
            if case .map(let value)? = shapes[mapPath] { return value }
        }
        return nil
    }

    /// Paths that exist, for suggestions in error messages.
    public func suggestions(for path: String) -> [String] {
        let leaf = path.split(separator: ".").last.map(String.init) ?? path
        let lowered = leaf.lowercased().replacingOccurrences(of: "[]", with: "")
        return shapes.keys.filter { $0.lowercased().contains(lowered) }.sorted().prefix(4).map { $0 }
    }

    private static func collect(_ value: JSONValue, path: String, into shapes: inout [String: FieldShape]) {
        func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        switch value {
        case .object(let members):
            if !path.isEmpty {
                if mapPaths.contains(path) {
                    let valueShape = members.values.first.map { shapeOf($0) } ?? .string
                    shapes[path] = .map(valueShape)
                    return
                }
                shapes[path] = .object
            }
            for (key, member) in members {
                collect(member, path: join(key), into: &shapes)
            }
        case .array(let items):
            let element = items.first.map { shapeOf($0) } ?? .string
            shapes[path] = .array(element)
            if let first = items.first, case .object = first {
                collect(first, path: path + "[]", into: &shapes)
            }
        default:
            shapes[path] = limitPaths.contains(path) ? .limit : shapeOf(value)
        }
    }

    private static func shapeOf(_ value: JSONValue) -> FieldShape {
        switch value {
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .object: .object
        case .array(let items): .array(items.first.map { shapeOf($0) } ?? .string)
        case .null: .string
        }
    }

    /// A posture with every field present, so its encoding lists every path of the contract.
    /// When the model gains a field, give it a value here (a test checks nothing is missing).
    public static func samplePosture() -> Posture {
        var posture = Posture(id: "sample", kind: .container, runtime: "runc", name: "sample", pid: 1)
        posture.processes = [1]
        posture.command = ["/bin/sh"]
        for type in NamespaceType.allCases { posture.namespaces[type] = .private }
        posture.user = UserIdentity(
            uid: 0, gid: 0, hostUid: 100000, hostGid: 100000,
            uidMap: [IDMapRange(inside: 0, outside: 100000, count: 65536)],
            gidMap: [IDMapRange(inside: 0, outside: 100000, count: 65536)], rootMappedToHost: false)
        posture.user.groups = [10]
        posture.capabilities = CapabilitySets(
            effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"], bounding: ["CAP_CHOWN"], ambient: ["CAP_CHOWN"],
            inheritable: ["CAP_CHOWN"])
        var seccomp = Seccomp(mode: .filter, filters: 1, threads: 1, threadsUnfiltered: 0)
        seccomp.source = .kernel
        seccomp.syscalls = [
            SeccompSyscalls(
                architecture: "x86_64", allowedCalls: ["read"], deniedCalls: ["bpf"],
                conditionalCalls: [
                    SeccompConditionalCall(
                        name: "personality", cases: [SeccompConditionalCase(when: ["args[0] low word == 0x0"], action: "ALLOW")],
                        complete: true)
                ], undecidedCalls: ["clone"])
        ]
        seccomp.reachable = SeccompReachable(all: .denied)
        posture.seccomp = seccomp
        posture.noNewPrivileges = true
        posture.mac = MACLabels(
            apparmor: AppArmorLabel(profile: "p", mode: "enforce"),
            selinux: SELinuxLabel(context: "u:r:t:s0", user: "u", role: "r", type: "t", level: "s0"))
        posture.mac.selinux?.permissiveDomain = false
        var device = Device(path: "/dev/null", access: "rw", source: .fd, type: "char", major: 1, minor: 3)
        device.standard = true
        posture.devices = [device]
        posture.mounts = [
            Mount(source: "/dev/sda1", target: "/data", readOnly: true, type: "ext4", root: "/", hostPath: "/srv",
                  options: ["ro"], managedBy: "docker")
        ]
        posture.mounts[0].propagation = "private"
        posture.readOnlyRootfs = true
        var cgroup = CgroupLimits(version: "v2", path: "/sys/fs/cgroup/x")
        cgroup.memoryMax = .value(1)
        cgroup.memorySwapMax = .value(1)
        cgroup.pidsMax = .value(1)
        cgroup.cpuQuota = .value(1)
        cgroup.cpuPeriod = 100000
        cgroup.cpuWeight = 100
        cgroup.devicesAllowAll = false
        cgroup.cpuPrioritySet = false
        posture.cgroup = cgroup
        posture.exposure = Exposure(score: 0, level: "perfect")
        posture.hypervisor = Hypervisor(
            emulator: "qemu", binary: "/usr/bin/qemu-system-x86_64", accelerator: "kvm", vcpus: 1, machine: "q35",
            sandbox: HypervisorSandbox(enabled: true, options: ["spawn": "deny"]),
            user: ProcessUser(uid: 0, name: "root"),
            consoles: [Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true, password: true, tls: true)],
            network: [NetworkBackend(type: "tap", id: "net0", implicit: false)],
            passthrough: [Passthrough(kind: "vfio", host: "0000:01:00.0")],
            legacyDevices: ["floppy"], listening: ["127.0.0.1:5900"], uuid: "00000000-0000-0000-0000-000000000000")
        posture.unknown = ["x": "why"]
        posture.location = SourceLocation(file: "f", line: 1, column: 1, path: "p")
        posture.fieldLocations = ["x": SourceLocation(file: "f", line: 1, column: 1, path: "p")]
        posture.defaulted = ["x"]
        posture.defaultSources = ["x": "source"]
        posture.runtimeClass = "runsc"
        posture.ociRuntime = "runc"
        posture.maskedPaths = ["/proc/kcore"]
        posture.readOnlyPaths = ["/proc/sys"]
        var pod = KubernetesPod(kind: "Pod", containerGroup: "containers")
        pod.shareProcessNamespace = true
        pod.automountServiceAccountToken = false
        pod.runAsNonRoot = true
        pod.fsGroup = 1
        pod.supplementalGroups = [1]
        pod.sysctls = ["kernel.shm_rmid_forced=1"]
        pod.seccompProfileType = "Localhost"
        pod.seccompLocalhostProfile = "profiles/app.json"
        pod.procMount = "Default"
        pod.windowsHostProcess = false
        pod.hostPorts = [HostPort(hostPort: 80, containerPort: 8080, hostIP: "0.0.0.0", protocol: "TCP")]
        pod.handlerHosts = ["127.0.0.1"]
        pod.volumes = [PodVolume(name: "v", type: "hostPath", hostPath: "/var", hostPathType: "Directory", mounted: true)]
        pod.podSecurity = PodSecurityVerdict(level: "baseline", version: "v1.35")
        posture.kubernetes = pod
        posture.hooks = [RuntimeHook(stage: "createRuntime", path: "/usr/bin/nvidia-ctk", args: ["nvidia-ctk", "hook"])]
        posture.drift = [Drift(field: "seccomp.mode", declared: "filter", observed: "disabled", source: "/run/b/config.json")]
        posture.rlimits = [ResourceLimit(name: "RLIMIT_NOFILE", soft: "1024", hard: ResourceLimit.unlimitedValue)]
        posture.sysctls = ["net.ipv4.ping_group_range": "0 0"]
        posture.intelRdt = IntelRDT(closID: "guaranteed", l3CacheSchema: "L3:0=ff", memBwSchema: "MB:0=50")
        posture.kernelSettings = KernelSettings(
            unprivilegedBPFDisabled: 2, unprivilegedUserfaultfd: 0, perfEventParanoid: 3, ptraceScope: 1)
        var settings = EngineSettings(sources: ["/var/lib/docker/containers/x/config.v2.json"])
        settings.healthCheck = true
        settings.restartPolicy = "on-failure"
        settings.restartMaxRetries = 5
        settings.networks = ["bridge"]
        settings.publishedPorts = [PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp")]
        settings.ulimits = [ResourceLimit(name: "nofile", soft: "1024", hard: "2048")]
        posture.engineSettings = settings
        return posture
    }
}

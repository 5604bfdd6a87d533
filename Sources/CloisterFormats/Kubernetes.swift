import CloisterCodec
import CloisterModel

/// Kubernetes manifests → one declared posture per container. Field meanings and defaults
/// follow the Kubernetes API reference (PodSpec, SecurityContext, PodSecurityContext) and the
/// tasks "Configure a Security Context", "Restrict a Container's Syscalls with seccomp",
/// "Restrict a Container's Access to Resources with AppArmor" and "Use a User Namespace With
/// a Pod".
/// A pod spec as the Pod Security Standards judge it: the document itself, so each control reads
/// the fields exactly as Pod Security Admission does, with the postures read from it.
public struct PodDocument: Sendable {
    /// The object that declares the pod, and its `namespace/name`.
    public var kind: String
    public var name: String
    /// The pod template's metadata (annotations), else the object's.
    public var metadata: DocCursor?
    public var spec: DocCursor
    /// Each container read from the spec: its name, and the id of its posture.
    public var containers: [(name: String, workload: String)]
    /// The file it was read from, for the findings' locations.
    public var file: String

    public init(
        kind: String, name: String, metadata: DocCursor?, spec: DocCursor, containers: [(name: String, workload: String)],
        file: String
    ) {
        self.file = file
        self.kind = kind
        self.name = name
        self.metadata = metadata
        self.spec = spec
        self.containers = containers
    }
}

/// What one Kubernetes document yields. A malformed item is an error at its path; every other
/// object and container beside it is still read.
public struct KubernetesReading: Sendable {
    public var postures: [Posture] = []
    public var pods: [PodDocument] = []
    public var errors: [DocumentError] = []
    /// Objects that carry no pod template (`Service/default/web`): listed, never silently passed.
    public var skipped: [String] = []

    public init() {}
}

public enum Kubernetes {
    /// Where each kind keeps its pod spec. Any other kind is read through `spec.template` or
    /// `spec.jobTemplate.spec.template` when it has one (an OpenShift DeploymentConfig, an Argo
    /// Rollout, a Knative or KEDA job), and skipped otherwise.
    static let podSpecPaths: [String: [String]] = [
        "Pod": ["spec"],
        "Deployment": ["spec", "template", "spec"],
        "StatefulSet": ["spec", "template", "spec"],
        "DaemonSet": ["spec", "template", "spec"],
        "ReplicaSet": ["spec", "template", "spec"],
        "ReplicationController": ["spec", "template", "spec"],
        "Job": ["spec", "template", "spec"],
        "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate": ["template", "spec"],
    ]
    static let templatePaths: [[String]] = [["spec", "template", "spec"], ["spec", "jobTemplate", "spec", "template", "spec"]]
    static let containerGroups = ["initContainers", "containers", "ephemeralContainers"]
    /// How a skipped object's entry ends.
    public static let noPodTemplate = " (runs no pod: no pod template)"

    public static func isManifest(_ root: DocNode) -> Bool {
        root["apiVersion"]?.text != nil && root["kind"]?.text != nil
    }

    /// Every container the document runs, each its own workload; throws the first error.
    public static func postures(_ root: DocNode, file: String) throws(DocumentError) -> [Posture] {
        let reading = read(root, file: file)
        if let first = reading.errors.first { throw first }
        return reading.postures
    }

    /// Every container the document runs, each its own workload, with the pod specs they come
    /// from; kinds that run nothing (Service, ConfigMap, …) are listed as skipped.
    public static func read(_ root: DocNode, file: String) -> KubernetesReading {
        var reading = KubernetesReading()
        read(DocCursor(root), file: file, depth: 0, into: &reading)
        return reading
    }

    static func read(_ document: DocCursor, file: String, depth: Int, into reading: inout KubernetesReading) {
        do throws(DocumentError) {
            guard document.node.entries != nil else {
                throw document.error(document.node.isNull ? "is null, not an object" : "must be a mapping, not \(document.node.kindName)")
            }
            guard let kindCursor = document["kind"] else { throw document.error("has no kind") }
            guard document["apiVersion"] != nil else { throw document.error("has no apiVersion") }
            let kind = try kindCursor.string()
            if kind == "List" || kind.hasSuffix("List") {
                guard depth < 4 else { throw document.error("nests Lists too deeply") }
                guard let items = document["items"] else { return }
                guard let elements = items.node.elements else { throw items.error("must be a list, not \(items.node.kindName)") }
                for (index, element) in elements.enumerated() {
                    read(DocCursor(element, path: "\(items.path)[\(index)]"), file: file, depth: depth + 1, into: &reading)
                }
                return
            }
            try readObject(document, kind: kind, file: file, into: &reading)
        } catch {
            reading.errors.append(error)
        }
    }

    static func readObject(_ document: DocCursor, kind: String, file: String, into reading: inout KubernetesReading) throws(DocumentError) {
        let metadata = document["metadata"]
        let declaredName = try metadata?["name"]?.string()
        let generateName = try metadata?["generateName"]?.string()
        let name = declaredName ?? generateName ?? "unnamed"
        let namespace = try metadata?["namespace"]?.string() ?? "default"
        let specPath: [String]
        if let known = podSpecPaths[kind] {
            specPath = known
        } else if let template = templatePaths.first(where: { path in
            path.reduce(Optional(document)) { $0?[$1] }?.node.entries != nil
        }) {
            specPath = template
        } else {
            reading.skipped.append("\(kind) \(namespace)/\(name)" + noPodTemplate)
            return
        }
        var podSpec: DocCursor? = document
        var podMetadata = metadata
        for (index, key) in specPath.enumerated() {
            if index == specPath.count - 1 { podMetadata = podSpec?["metadata"] ?? metadata }
            podSpec = podSpec?[key]
        }
        guard let podSpec else {
            throw document.error("is a \(kind) without \(specPath.joined(separator: "."))")
        }
        guard podSpec.node.entries != nil else { throw podSpec.error("must be a mapping, not \(podSpec.node.kindName)") }
        let annotations = try podMetadata?["annotations"]?.mapping() ?? []
        let pod = try PodFields(podSpec: podSpec, kind: kind)
        var containers: [(name: String, workload: String)] = []
        var seen = false
        for group in containerGroups {
            guard let list = podSpec[group] else { continue }
            guard let elements = list.node.elements else { throw list.error("must be a list, not \(list.node.kindName)") }
            for (index, element) in elements.enumerated() {
                seen = true
                let container = DocCursor(element, path: "\(list.path)[\(index)]")
                do throws(DocumentError) {
                    guard element.entries != nil else {
                        throw container.error(element.isNull ? "is null, not a container" : "must be a mapping, not \(element.kindName)")
                    }
                    var posture = try posture(
                        kind: kind, name: name, namespace: namespace, document: document, podSpec: podSpec,
                        container: container, annotations: annotations, file: file)
                    posture.kubernetes = try pod.facts(container: container, group: group)
                    containers.append((try container["name"]?.string() ?? "", posture.id))
                    reading.postures.append(posture)
                } catch {
                    reading.errors.append(error)
                }
            }
        }
        if !seen { throw podSpec.error("declares no containers") }
        reading.pods.append(
            PodDocument(
                kind: kind, name: "\(namespace)/\(name)", metadata: podMetadata, spec: podSpec, containers: containers, file: file))
    }

    static func posture(
        kind: String, name: String, namespace: String, document: DocCursor, podSpec: DocCursor, container: DocCursor,
        annotations: [(key: String, value: DocCursor)], file: String
    ) throws(DocumentError) -> Posture {
        guard let containerNameCursor = container["name"] else { throw container.error("has no name") }
        let containerName = try containerNameCursor.string()
        var builder = DeclaredPosture(
            id: "k8s:\(kind)/\(namespace)/\(name)/\(containerName)", kind: .container, runtime: "kubernetes",
            name: "\(namespace)/\(name)/\(containerName)", file: file, at: container)
        builder.posture.location?.path = container.path
        if let runtimeClass = podSpec["runtimeClassName"] {
            builder.posture.runtimeClass = try runtimeClass.string()
            builder.declared("runtimeClass", at: runtimeClass)
        }
        let command = try (container["command"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        let args = try (container["args"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        builder.posture.command = command + args

        let podContext = podSpec["securityContext"]
        let context = container["securityContext"]
        /// The container's setting, else the pod's (SecurityContext overrides PodSecurityContext).
        func setting(_ key: String) -> DocCursor? { context?[key] ?? podContext?[key] }

        let privilegedCursor = context?["privileged"]
        let privileged = try privilegedCursor?.bool() ?? false

        // Namespaces.
        func hostFlag(_ key: String, _ fields: [NamespaceType]) throws(DocumentError) {
            let cursor = podSpec[key]
            let host = try cursor?.bool() ?? false
            for field in fields {
                builder.posture.namespaces[field] = host ? .host : .private
                if let cursor {
                    builder.declared("namespaces.\(field.rawValue)", at: cursor)
                } else {
                    builder.defaulted("namespaces.\(field.rawValue)", DefaultSource.k8sHostNamespaces, at: podSpec)
                }
            }
        }
        try hostFlag("hostPID", [.pid])
        try hostFlag("hostIPC", [.ipc])
        // With hostNetwork the pod also shares the node's UTS namespace (its hostname).
        try hostFlag("hostNetwork", [.net, .uts])
        builder.posture.namespaces.mnt = .private
        builder.posture.namespaces.time = .host
        builder.defaulted("namespaces.time", DefaultSource.k8sTimeNamespace, at: podSpec)
        builder.unknown(.namespace(.cgroup), "private on cgroup v2 nodes, the host's on cgroup v1 nodes (containerd, CRI-O)")
        if let hostUsers = podSpec["hostUsers"] {
            let host = try hostUsers.bool()
            builder.posture.namespaces.user = host ? .host : .private
            builder.declared("namespaces.user", at: hostUsers)
        } else {
            builder.posture.namespaces.user = .host
            builder.defaulted("namespaces.user", DefaultSource.k8sHostUsers, at: podSpec)
        }

        // User.
        if let uid = setting("runAsUser") {
            builder.posture.user.uid = try uid.uint32()
            builder.declared("user.uid", at: uid)
        } else if let nonRoot = setting("runAsNonRoot"), try nonRoot.bool() {
            builder.unknown(.userUid, "the image's USER; runAsNonRoot: true makes the kubelet refuse UID 0")
            builder.declared("user.uid", at: nonRoot)
        } else {
            builder.unknown(.userUid, "the image's USER (often root); neither runAsUser nor runAsNonRoot is set")
        }
        if let gid = setting("runAsGroup") {
            builder.posture.user.gid = try gid.uint32()
            builder.declared("user.gid", at: gid)
        }
        if builder.posture.namespaces.user == .host {
            builder.posture.user.uidMap = [IDMapRange(inside: 0, outside: 0, count: UInt32.max)]
            builder.posture.user.gidMap = [IDMapRange(inside: 0, outside: 0, count: UInt32.max)]
            builder.posture.user.rootMappedToHost = true
            builder.posture.user.hostUid = builder.posture.user.uid
            builder.posture.user.hostGid = builder.posture.user.gid
            builder.defaulted("user.rootMappedToHost", DefaultSource.k8sRootMapped, at: podSpec["hostUsers"] ?? podSpec)
        } else {
            // The kubelet picks a 65536-ID range that never includes host root.
            builder.posture.user.rootMappedToHost = false
            builder.declared("user.rootMappedToHost", at: podSpec["hostUsers"])
            builder.unknown(.userUidMap, "a 65536-ID range the kubelet chooses at run time")
        }

        // Capabilities.
        let capabilities = context?["capabilities"]
        let add = try (capabilities?["add"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        let drop = try (capabilities?["drop"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        let bounding: [String]
        if privileged {
            bounding = LinuxCapabilities.all
            for set in ["bounding", "effective", "permitted"] {
                builder.declared("capabilities.\(set)", at: privilegedCursor)
            }
        } else {
            bounding = LinuxCapabilities.adjust(LinuxCapabilities.containerDefault, add: add, drop: drop)
            let dropsAll = drop.contains { LinuxCapabilities.normalize($0) == "ALL" }
            for set in ["bounding", "effective", "permitted"] {
                if dropsAll {
                    builder.declared("capabilities.\(set)", at: capabilities)
                } else {
                    builder.defaulted("capabilities.\(set)", DefaultSource.k8sCapabilities, at: capabilities ?? context ?? container)
                    if let capabilities { builder.declared("capabilities.\(set)", at: capabilities) }
                }
            }
        }
        builder.posture.capabilities.bounding = bounding
        // A process that does not run as UID 0 loses its permitted and effective capabilities
        // at execve (capabilities(7)); Kubernetes sets no ambient capabilities.
        // runAsNonRoot: true settles it when runAsUser does not: the kubelet refuses to start a
        // container whose user is UID 0.
        let nonRoot = try setting("runAsNonRoot")?.bool() == true
        let runsAsRoot = builder.posture.user.uid.map { $0 == 0 } ?? (nonRoot ? false : nil)
        if runsAsRoot == false {
            builder.posture.capabilities.effective = []
            builder.posture.capabilities.permitted = []
            if builder.posture.user.uid == nil, let cursor = setting("runAsNonRoot") {
                builder.declared("capabilities.effective", at: cursor)
                builder.declared("capabilities.permitted", at: cursor)
            }
        } else {
            builder.posture.capabilities.effective = bounding
            builder.posture.capabilities.permitted = bounding
            if runsAsRoot == nil {
                builder.unknown(.capabilities(.effective), "the full set if the image runs as root, none otherwise")
            }
        }
        let hasSysAdmin = bounding.contains("CAP_SYS_ADMIN")

        // seccomp: container field, pod field, then the pre-1.25 annotations.
        if privileged {
            builder.posture.seccomp = Seccomp(mode: .disabled)
            builder.defaulted("seccomp.mode", DefaultSource.k8sPrivilegedSeccomp, at: privilegedCursor)
        } else if let profile = setting("seccompProfile") {
            guard let typeCursor = profile["type"] else { throw profile.error("has no type") }
            let type = try typeCursor.string()
            switch type {
            case "RuntimeDefault", "Localhost": builder.posture.seccomp = Seccomp(mode: .filter)
            case "Unconfined": builder.posture.seccomp = Seccomp(mode: .disabled)
            default: throw typeCursor.error("must be RuntimeDefault, Localhost or Unconfined, not \(type)")
            }
            builder.declared("seccomp.mode", at: typeCursor)
        } else if let annotation = annotations.first(where: {
            $0.key == "container.seccomp.security.alpha.kubernetes.io/\(containerName)"
        }) ?? annotations.first(where: { $0.key == "seccomp.security.alpha.kubernetes.io/pod" }) {
            let value = try annotation.value.string()
            builder.posture.seccomp = Seccomp(mode: value == "unconfined" ? .disabled : .filter)
            builder.declared("seccomp.mode", at: annotation.value)
        } else {
            builder.posture.seccomp = Seccomp(mode: .disabled)
            builder.defaulted("seccomp.mode", DefaultSource.k8sSeccomp, at: context ?? podContext ?? container)
        }

        // no_new_privs.
        let escalation = context?["allowPrivilegeEscalation"]
        if privileged || hasSysAdmin {
            builder.posture.noNewPrivileges = false
            builder.defaulted("noNewPrivileges", DefaultSource.k8sPrivilegeEscalationForced, at: privilegedCursor ?? capabilities)
        } else if let escalation {
            builder.posture.noNewPrivileges = !(try escalation.bool())
            builder.declared("noNewPrivileges", at: escalation)
        } else {
            builder.posture.noNewPrivileges = false
            builder.defaulted("noNewPrivileges", DefaultSource.k8sAllowPrivilegeEscalation, at: context ?? container)
        }

        // AppArmor: the 1.30 field, else the beta annotation.
        if privileged {
            builder.posture.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
            builder.declared("mac.apparmor", at: privilegedCursor)
        } else if let profile = setting("appArmorProfile") {
            guard let typeCursor = profile["type"] else { throw profile.error("has no type") }
            switch try typeCursor.string() {
            case "RuntimeDefault": builder.posture.mac.apparmor = AppArmorLabel(profile: "runtime/default", mode: "enforce")
            case "Unconfined": builder.posture.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
            case "Localhost":
                let local = try profile["localhostProfile"]?.string() ?? ""
                builder.posture.mac.apparmor = AppArmorLabel(profile: local, mode: "enforce")
            default: throw typeCursor.error("must be RuntimeDefault, Localhost or Unconfined")
            }
            builder.declared("mac.apparmor", at: typeCursor)
        } else if let annotation = annotations.first(where: {
            $0.key == "container.apparmor.security.beta.kubernetes.io/\(containerName)"
        }) {
            let value = try annotation.value.string()
            if value == "unconfined" {
                builder.posture.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
            } else {
                let profile = value.hasPrefix("localhost/") ? String(value.dropFirst(10)) : value
                builder.posture.mac.apparmor = AppArmorLabel(profile: profile, mode: "enforce")
            }
            builder.declared("mac.apparmor", at: annotation.value)
        } else {
            builder.unknown(.macAppArmor, "the runtime's default profile on nodes with AppArmor enabled, none elsewhere")
        }
        if let options = setting("seLinuxOptions") {
            let parts = try ["user", "role", "type", "level"].map { key throws(DocumentError) in try options[key]?.string() }
            let context = parts.map { $0 ?? "" }.joined(separator: ":")
            builder.posture.mac.selinux = SELinuxLabel(context: context, user: parts[0], role: parts[1], type: parts[2], level: parts[3])
            if parts[2] == nil {
                // Only some parts set: the runtime fills the type (container_t) itself.
                builder.posture.mac.selinux?.confined = true
            }
            builder.declared("mac.selinux", at: options)
        } else if !privileged {
            builder.unknown(.macSELinux, "container_t with a per-pod MCS level on SELinux nodes, none elsewhere")
        }

        // Devices.
        if privileged {
            builder.posture.devices = [Device(path: "/dev", access: "rwm", source: .config)]
            builder.defaulted("devices", DefaultSource.k8sPrivilegedDevices, at: privilegedCursor)
        } else {
            builder.posture.devices = ociDefaultDevices(terminal: try container["tty"]?.bool() ?? false)
            builder.defaulted("devices", DefaultSource.k8sDevices, at: container)
        }

        // Volumes and mounts.
        var volumes: [String: DocCursor] = [:]
        for volume in try podSpec["volumes"]?.list() ?? [] {
            if let volumeName = try volume["name"]?.string() { volumes[volumeName] = volume }
        }
        for mountCursor in try container["volumeMounts"]?.list() ?? [] {
            guard let mountPath = mountCursor["mountPath"], let volumeName = mountCursor["name"] else {
                throw mountCursor.error("needs name and mountPath")
            }
            let volumeKey = try volumeName.string()
            let readOnly = try mountCursor["readOnly"]?.bool() ?? false
            let subPath = try mountCursor["subPath"]?.string()
            var mount = Mount(source: volumeKey, target: try mountPath.string(), readOnly: readOnly, type: "volume")
            if let volume = volumes[volumeKey] {
                if let hostPath = volume["hostPath"] {
                    guard let pathCursor = hostPath["path"] else { throw hostPath.error("has no path") }
                    var path = try pathCursor.string()
                    if let subPath, !subPath.isEmpty { path = path.hasSuffix("/") ? path + subPath : path + "/" + subPath }
                    mount.type = "bind"
                    mount.source = path
                    mount.hostPath = path
                    if let type = try hostPath["type"]?.string() { mount.options.append("hostPathType=\(type)") }
                    builder.declared("mounts[\(builder.posture.mounts.count)].hostPath", at: pathCursor)
                } else if let type = volume.node.entries?.first(where: { $0.key != "name" })?.key {
                    mount.type = type
                }
            }
            builder.posture.mounts.append(mount)
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: mountCursor)
        }

        let procMount = context?["procMount"]
        let unmasked = try procMount?.string() == "Unmasked"
        ContainerDefaultPaths.apply(to: &builder, unmasked: privileged || unmasked, at: procMount ?? privilegedCursor ?? context ?? container)

        if let readOnlyRoot = context?["readOnlyRootFilesystem"] {
            builder.posture.readOnlyRootfs = try readOnlyRoot.bool()
            builder.declared("readOnlyRootfs", at: readOnlyRoot)
        } else {
            builder.posture.readOnlyRootfs = false
            builder.defaulted("readOnlyRootfs", DefaultSource.k8sReadOnlyRootfs, at: context ?? container)
        }

        // Resources.
        let limits = container.at("resources", "limits")
        var cgroup = CgroupLimits(version: "declared", path: "")
        if let memory = limits?["memory"] {
            guard let bytes = quantity(try memory.string()), bytes >= 0 else { throw memory.error("is not a quantity") }
            cgroup.memoryMax = .value(UInt64(min(bytes, 1.8e19)))
            builder.declared("cgroup.memoryMax", at: memory)
        } else {
            cgroup.memoryMax = .max
            builder.defaulted("cgroup.memoryMax", DefaultSource.noLimit + " (a namespace LimitRange may add one at admission)", at: limits ?? container)
        }
        if let cpu = limits?["cpu"] {
            guard let cores = quantity(try cpu.string()), cores >= 0 else { throw cpu.error("is not a quantity") }
            cgroup.cpuQuota = .value(UInt64(min((cores * 100_000).rounded(.up), 1.8e19)))
            cgroup.cpuPeriod = 100_000
            builder.declared("cgroup.cpuQuota", at: cpu)
            builder.defaulted("cgroup.cpuPeriod", DefaultSource.k8sCPUPeriod, at: cpu)
        } else {
            cgroup.cpuQuota = .max
            builder.defaulted("cgroup.cpuQuota", DefaultSource.noLimit + " (a namespace LimitRange may add one at admission)", at: limits ?? container)
        }
        // A pod spec cannot set it: the node's kubelet does (podPidsLimit), unlimited unless the
        // cluster configures one, as managed clusters often do.
        builder.unknown(.cgroupPidsMax, DefaultSource.k8sPids)
        if privileged {
            cgroup.devicesAllowAll = true
            builder.declared("cgroup.devicesAllowAll", at: privilegedCursor)
        }
        builder.posture.cgroup = cgroup
        return builder.posture
    }

    /// A Kubernetes quantity (`128Mi`, `1.5Gi`, `500m`, `2`, `1e3`) as a number.
    public static func quantity(_ text: String) -> Double? {
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
            ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976), ("n", 1e-9), ("u", 1e-6), ("m", 1e-3),
            ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
        ]
        let trimmed = text.trimmingCharacters()
        for (suffix, factor) in suffixes where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number.isFinite else { return nil }
            return number * factor
        }
        guard let number = Double(trimmed), number.isFinite else { return nil }
        return number
    }
}

extension String {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

/// The pod-level isolation fields of one pod spec, read once for all its containers.
struct PodFields {
    var kind: String
    var shareProcessNamespace: Bool?
    var automountServiceAccountToken: Bool?
    var runAsNonRoot: Bool?
    var fsGroup: UInt32?
    var supplementalGroups: [UInt32] = []
    var sysctls: [String] = []
    var windowsHostProcess: Bool?
    var volumes: [PodVolume] = []
    var seccompProfileType: String?
    var seccompLocalhostProfile: String?

    init(podSpec: DocCursor, kind: String) throws(DocumentError) {
        self.kind = kind
        shareProcessNamespace = try podSpec["shareProcessNamespace"]?.bool()
        automountServiceAccountToken = try podSpec["automountServiceAccountToken"]?.bool()
        let context = podSpec["securityContext"]
        runAsNonRoot = try context?["runAsNonRoot"]?.bool()
        fsGroup = try context?["fsGroup"]?.uint32()
        supplementalGroups = try (context?["supplementalGroups"]?.list() ?? []).map { g throws(DocumentError) in try g.uint32() }
        for sysctl in try context?["sysctls"]?.list() ?? [] {
            guard let name = sysctl["name"] else { throw sysctl.error("has no name") }
            sysctls.append("\(try name.string())=\(try sysctl["value"]?.string() ?? "")")
        }
        windowsHostProcess = try context?.at("windowsOptions", "hostProcess")?.bool()
        seccompProfileType = try context?.at("seccompProfile", "type")?.string()
        seccompLocalhostProfile = try context?.at("seccompProfile", "localhostProfile")?.string()
        for volume in try podSpec["volumes"]?.list() ?? [] {
            guard volume.node.entries != nil else { throw volume.error("must be a mapping, not \(volume.node.kindName)") }
            guard let name = volume["name"] else { throw volume.error("has no name") }
            let type = volume.node.entries?.first(where: { $0.key != "name" && !$0.value.isNull })?.key ?? "emptyDir"
            var entry = PodVolume(name: try name.string(), type: type, mounted: false)
            if let hostPath = volume["hostPath"] {
                guard let path = hostPath["path"] else { throw hostPath.error("has no path") }
                entry.hostPath = try path.string()
                entry.hostPathType = try hostPath["type"]?.string()
            }
            volumes.append(entry)
        }
    }

    /// The facts for one container: its own settings where it overrides the pod's.
    func facts(container: DocCursor, group: String) throws(DocumentError) -> KubernetesPod {
        var pod = KubernetesPod(kind: kind, containerGroup: group)
        let context = container["securityContext"]
        pod.shareProcessNamespace = shareProcessNamespace
        pod.automountServiceAccountToken = automountServiceAccountToken
        pod.runAsNonRoot = try context?["runAsNonRoot"]?.bool() ?? runAsNonRoot
        pod.fsGroup = fsGroup
        pod.supplementalGroups = supplementalGroups
        pod.sysctls = sysctls
        pod.procMount = try context?["procMount"]?.string()
        pod.windowsHostProcess = try context?.at("windowsOptions", "hostProcess")?.bool() ?? windowsHostProcess
        // The container's seccompProfile replaces the pod's whole (type and path together).
        if let profile = context?["seccompProfile"] {
            pod.seccompProfileType = try profile["type"]?.string()
            pod.seccompLocalhostProfile = try profile["localhostProfile"]?.string()
        } else {
            pod.seccompProfileType = seccompProfileType
            pod.seccompLocalhostProfile = seccompLocalhostProfile
        }
        for port in try container["ports"]?.list() ?? [] {
            guard let hostPort = port["hostPort"], try hostPort.int() != 0 else { continue }
            pod.hostPorts.append(
                HostPort(
                    hostPort: Int(try hostPort.int()), containerPort: try port["containerPort"].map { c throws(DocumentError) in Int(try c.int()) },
                    hostIP: try port["hostIP"]?.string(), protocol: try port["protocol"]?.string()))
        }
        for handler in Self.handlers(of: container) {
            for probe in ["httpGet", "tcpSocket"] {
                if let host = handler[probe]?["host"] { pod.handlerHosts.append(try host.string()) }
            }
        }
        var mounted: Set<String> = []
        for mount in try container["volumeMounts"]?.list() ?? [] {
            if let name = try mount["name"]?.string() { mounted.insert(name) }
        }
        pod.volumes = volumes.map { var volume = $0; volume.mounted = mounted.contains(volume.name); return volume }
        return pod
    }

    /// The probes and lifecycle handlers of a container: the kubelet runs each from the node.
    static func handlers(of container: DocCursor) -> [DocCursor] {
        ["livenessProbe", "readinessProbe", "startupProbe"].compactMap { container[$0] }
            + ["postStart", "preStop"].compactMap { container.at("lifecycle", $0) }
    }
}

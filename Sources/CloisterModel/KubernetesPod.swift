// The isolation fields a Kubernetes pod can set that have no kernel-level twin elsewhere in the
// posture (a host port, a sysctl, a volume no container mounts, a probe aimed at the node), and
// the Pod Security Standards level the pod meets. Only declared postures read from a pod spec
// carry it; the scanner cannot see a pod spec.

/// One pod volume, mounted by this container or not (the Pod Security Standards judge every
/// volume of the pod).
public struct PodVolume: Codable, Sendable, Equatable {
    public var name: String
    /// The volume source's key: `hostPath`, `emptyDir`, `configMap`, `persistentVolumeClaim`, …
    public var type: String
    /// For a hostPath volume: the node's path and the declared `type` (`Directory`, `Socket`, …).
    public var hostPath: String?
    public var hostPathType: String?
    /// True when this container mounts it (`volumeMounts`).
    public var mounted: Bool

    public init(name: String, type: String, hostPath: String? = nil, hostPathType: String? = nil, mounted: Bool) {
        self.name = name
        self.type = type
        self.hostPath = hostPath
        self.hostPathType = hostPathType
        self.mounted = mounted
    }
}

/// A container port published on the node (`ports[].hostPort`).
public struct HostPort: Codable, Sendable, Equatable {
    public var hostPort: Int
    public var containerPort: Int?
    public var hostIP: String?
    public var `protocol`: String?

    public init(hostPort: Int, containerPort: Int? = nil, hostIP: String? = nil, protocol: String? = nil) {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.hostIP = hostIP
        self.protocol = `protocol`
    }
}

/// The Pod Security Standards level a pod meets, at the version it was judged against.
public struct PodSecurityVerdict: Codable, Sendable, Equatable {
    /// `restricted`, `baseline`, or `privileged` (meets neither).
    public var level: String
    /// `v1.35`, or `latest` resolved to the newest version the standard's data knows.
    public var version: String

    public init(level: String, version: String) {
        self.level = level
        self.version = version
    }
}

public struct KubernetesPod: Codable, Sendable, Equatable {
    /// The object that declares the pod (`Pod`, `Deployment`, `CronJob`, `DeploymentConfig`, …).
    public var kind: String
    /// `containers`, `initContainers` or `ephemeralContainers`.
    public var containerGroup: String
    public var shareProcessNamespace: Bool?
    public var automountServiceAccountToken: Bool?
    /// `runAsNonRoot`, the container's if set, else the pod's.
    public var runAsNonRoot: Bool?
    public var fsGroup: UInt32?
    public var supplementalGroups: [UInt32]
    /// `securityContext.sysctls` as `name=value`.
    public var sysctls: [String]
    /// `securityContext.procMount` (`Default` or `Unmasked`).
    public var procMount: String?
    /// `windowsOptions.hostProcess`, the container's if set, else the pod's.
    public var windowsHostProcess: Bool?
    public var hostPorts: [HostPort]
    /// `host` set in a probe or lifecycle handler (`httpGet.host`, `tcpSocket.host`): the
    /// kubelet connects from the node to that address.
    public var handlerHosts: [String]
    public var volumes: [PodVolume]
    /// `seccompProfile.type` (`RuntimeDefault`, `Localhost`, `Unconfined`), the container's if
    /// set, else the pod's; nil when neither sets one.
    public var seccompProfileType: String?
    /// `seccompProfile.localhostProfile`: the profile's path relative to the kubelet's seccomp
    /// directory (`<root-dir>/seccomp`), as the manifest writes it (hostile until resolved).
    public var seccompLocalhostProfile: String?
    /// Set once the pod has been judged against the Pod Security Standards.
    public var podSecurity: PodSecurityVerdict?

    public init(kind: String, containerGroup: String) {
        self.kind = kind
        self.containerGroup = containerGroup
        self.supplementalGroups = []
        self.sysctls = []
        self.hostPorts = []
        self.handlerHosts = []
        self.volumes = []
    }
}

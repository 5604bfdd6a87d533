/// The OCI runtime-spec `config.json` (config.md, config-linux.md), as runc and crun read it:
/// the wire form only, kept apart from cloister's posture as apple/containerization keeps
/// ContainerizationOCI apart from its domain types. Field names are the spec's.
///
/// Optional fields are optionals so that what a file leaves out stays out when it is written
/// again. A few fields the spec calls REQUIRED (process.cwd, process.user, root) are optional
/// too: `cloister check` reads partial files and reports what they declare rather than refusing
/// them, and the bundle writers always set them.
public struct Spec: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var mounts: [Mount]?
    public var linux: Linux?
    public var annotations: [String: String]?
    /// Programs the runtime runs on the host around the container's life (config.md, POSIX hooks).
    public var hooks: Hooks?

    public init(
        ociVersion: String, process: Process? = nil, root: Root? = nil, hostname: String? = nil, mounts: [Mount]? = nil,
        linux: Linux? = nil, annotations: [String: String]? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.mounts = mounts
        self.linux = linux
        self.annotations = annotations
    }

    /// Hooks by stage; each runs in the runtime's namespace (the host's), with its privileges.
    public struct Hooks: Codable, Sendable, Equatable {
        public var prestart: [Hook]?
        public var createRuntime: [Hook]?
        public var createContainer: [Hook]?
        public var startContainer: [Hook]?
        public var poststart: [Hook]?
        public var poststop: [Hook]?

        public init() {}

        /// The stages in the order the runtime reaches them, with their hooks.
        public var stages: [(name: String, hooks: [Hook])] {
            [("prestart", prestart), ("createRuntime", createRuntime), ("createContainer", createContainer),
             ("startContainer", startContainer), ("poststart", poststart), ("poststop", poststop)]
                .map { ($0.0, $0.1 ?? []) }
        }
    }

    public struct Hook: Codable, Sendable, Equatable {
        public var path: String
        public var args: [String]?
        public var env: [String]?
        public var timeout: Int?

        public init(path: String, args: [String]? = nil) {
            self.path = path
            self.args = args
        }
    }

    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool?
        public var user: User?
        public var args: [String]?
        public var env: [String]?
        public var cwd: String?
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
        public var apparmorProfile: String?
        public var selinuxLabel: String?

        public init(
            terminal: Bool? = nil, user: User? = nil, args: [String]? = nil, env: [String]? = nil, cwd: String? = nil,
            capabilities: Capabilities? = nil, rlimits: [Rlimit]? = nil, noNewPrivileges: Bool? = nil,
            apparmorProfile: String? = nil, selinuxLabel: String? = nil
        ) {
            self.terminal = terminal
            self.user = user
            self.args = args
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
            self.apparmorProfile = apparmorProfile
            self.selinuxLabel = selinuxLabel
        }
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32?
        public var gid: UInt32?
        public var additionalGids: [UInt32]?

        public init(uid: UInt32? = nil, gid: UInt32? = nil, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }

    /// The five capability sets, as `CAP_*` names.
    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]?
        public var effective: [String]?
        public var inheritable: [String]?
        public var permitted: [String]?
        public var ambient: [String]?

        public init(
            bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil, permitted: [String]? = nil,
            ambient: [String]? = nil
        ) {
            self.bounding = bounding
            self.effective = effective
            self.inheritable = inheritable
            self.permitted = permitted
            self.ambient = ambient
        }

        /// The same names in every set.
        public init(all names: [String]) {
            self.init(bounding: names, effective: names, inheritable: names, permitted: names, ambient: names)
        }
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        /// `RLIMIT_NOFILE` and the like.
        public var type: String
        public var hard: UInt64
        public var soft: UInt64

        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String?
        public var readonly: Bool?

        public init(path: String? = nil, readonly: Bool? = nil) {
            self.path = path
            self.readonly = readonly
        }
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]?

        public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [Namespace]?
        public var uidMappings: [IDMapping]?
        public var gidMappings: [IDMapping]?
        public var devices: [Device]?
        public var resources: Resources?
        public var cgroupsPath: String?
        public var seccomp: LinuxSeccomp?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        /// Kernel parameters set inside the container's namespaces.
        public var sysctl: [String: String]?
        public var intelRdt: IntelRdt?

        public init(
            namespaces: [Namespace]? = nil, uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil,
            devices: [Device]? = nil, resources: Resources? = nil, cgroupsPath: String? = nil, seccomp: LinuxSeccomp? = nil,
            maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil
        ) {
            self.namespaces = namespaces
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
            self.devices = devices
            self.resources = resources
            self.cgroupsPath = cgroupsPath
            self.seccomp = seccomp
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
        }
    }

    /// Intel RDT: the resctrl class of service (`closID`) and the schemata written to it.
    public struct IntelRdt: Codable, Sendable, Equatable {
        public var closID: String?
        public var l3CacheSchema: String?
        public var memBwSchema: String?
    }

    /// A namespace to create (`path` absent) or to join (`path` set). `type` is the spec's
    /// name: `pid`, `network`, `mount`, `ipc`, `uts`, `user`, `cgroup`, `time`.
    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?

        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    public struct IDMapping: Codable, Sendable, Equatable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32

        public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }
    }

    /// A device node created in the container. `type` is `c`, `b`, `u` or `p`.
    public struct Device: Codable, Sendable, Equatable {
        public var path: String
        public var type: String?
        public var major: UInt32?
        public var minor: UInt32?
        public var fileMode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?

        /// The rest is set field by field: cloister reads devices more than it writes them.
        public init(path: String) { self.path = path }
    }

    /// Cgroup limits. Memory and pids limits are signed in the spec: -1 means unlimited.
    public struct Resources: Codable, Sendable, Equatable {
        public var memory: Memory?
        public var pids: Pids?
        public var cpu: CPU?
        public var devices: [DeviceRule]?

        /// Every field is optional: set the ones a bundle limits.
        public init() {}

        public struct Memory: Codable, Sendable, Equatable {
            public var limit: Int64?
            public var swap: Int64?

            public init(limit: Int64? = nil, swap: Int64? = nil) {
                self.limit = limit
                self.swap = swap
            }
        }

        public struct Pids: Codable, Sendable, Equatable {
            public var limit: Int64?

            public init(limit: Int64? = nil) { self.limit = limit }
        }

        public struct CPU: Codable, Sendable, Equatable {
            public var shares: UInt64?
            public var quota: Int64?
            public var period: UInt64?

            public init(shares: UInt64? = nil, quota: Int64? = nil, period: UInt64? = nil) {
                self.shares = shares
                self.quota = quota
                self.period = period
            }
        }

        /// A device cgroup rule; `type` `a` (or absent) with no numbers covers every device.
        /// `allow` is REQUIRED by the spec; optional so `check` reads a rule without it as a
        /// deny, as it always has.
        public struct DeviceRule: Codable, Sendable, Equatable {
            public var allow: Bool?
            public var type: String?
            public var major: Int64?
            public var minor: Int64?
            public var access: String?

            public init() {}
        }
    }
}

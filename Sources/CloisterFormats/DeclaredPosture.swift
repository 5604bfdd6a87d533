import CloisterCodec
import CloisterModel

/// Builds a declared posture and keeps, beside each field, where it was declared or which
/// platform default filled it.
public struct DeclaredPosture: Sendable {
    public var posture: Posture
    public let file: String

    public init(id: String, kind: WorkloadKind, runtime: String, name: String, file: String, at cursor: DocCursor?) {
        posture = Posture(id: id, kind: kind, runtime: runtime, name: name, source: .declared)
        self.file = file
        posture.location = cursor?.location(file: file) ?? SourceLocation(file: file)
        posture.unknown["kernelSettings"] = Self.kernelSettingsUnknown
    }

    public init(id: String, kind: WorkloadKind, runtime: String, name: String, file: String, line: Int?, path: String? = nil) {
        posture = Posture(id: id, kind: kind, runtime: runtime, name: name, source: .declared)
        self.file = file
        posture.location = SourceLocation(file: file, line: line, path: path)
        posture.unknown["kernelSettings"] = Self.kernelSettingsUnknown
    }

    /// A file does not say which node's kernel runs the workload.
    public static let kernelSettingsUnknown =
        "the host kernel's settings (unprivileged_bpf_disabled, unprivileged_userfaultfd, perf_event_paranoid, ptrace_scope) belong to the node, not the file"

    /// `field` (a posture JSON path) was declared at `cursor`.
    public mutating func declared(_ field: String, at cursor: DocCursor?) {
        guard let cursor else { return }
        posture.fieldLocations[field] = cursor.location(file: file)
    }

    public mutating func declared(_ field: String, line: Int?, path: String?) {
        posture.fieldLocations[field] = SourceLocation(file: file, line: line, path: path)
    }

    /// `field` holds a platform default. `cursor` is the object that would have declared it,
    /// so a finding about the missing setting lands where the setting belongs.
    public mutating func defaulted(_ field: String, _ source: String, at cursor: DocCursor? = nil) {
        if !posture.defaulted.contains(field) { posture.defaulted.append(field) }
        if posture.defaultSources == nil { posture.defaultSources = [:] }
        posture.defaultSources?[field] = source
        if let cursor, posture.fieldLocations[field] == nil { posture.fieldLocations[field] = cursor.location(file: file) }
    }

    public mutating func unknown(_ field: FieldPath, _ reason: String) {
        posture.unknown[field] = reason
    }
}

/// Parses an SELinux context `user:role:type:level` (the level may itself hold colons).
public func selinuxLabel(_ context: String) -> SELinuxLabel {
    let parts = context.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
    return SELinuxLabel(
        context: context, user: parts.count > 0 ? parts[0] : nil, role: parts.count > 1 ? parts[1] : nil,
        type: parts.count > 2 ? parts[2] : nil, level: parts.count > 3 ? parts[3] : nil)
}

/// The devices every OCI container gets whatever its configuration lists (runtime-spec
/// config-linux.md, "Default Devices"); /dev/console only with a terminal.
public func ociDefaultDevices(terminal: Bool) -> [Device] {
    var devices = [
        Device(path: "/dev/null", access: "rw", source: .config, type: "char", major: 1, minor: 3),
        Device(path: "/dev/zero", access: "rw", source: .config, type: "char", major: 1, minor: 5),
        Device(path: "/dev/full", access: "rw", source: .config, type: "char", major: 1, minor: 7),
        Device(path: "/dev/random", access: "rw", source: .config, type: "char", major: 1, minor: 8),
        Device(path: "/dev/urandom", access: "rw", source: .config, type: "char", major: 1, minor: 9),
        Device(path: "/dev/tty", access: "rw", source: .config, type: "char", major: 5, minor: 0),
        Device(path: "/dev/ptmx", access: "rw", source: .config, type: "char", major: 5, minor: 2),
    ]
    if terminal { devices.append(Device(path: "/dev/console", access: "rw", source: .config, type: "char", major: 5, minor: 1)) }
    return devices
}

/// Where each default that `check` applies is documented.
public enum DefaultSource {
    public static let ociNamespaceAbsent =
        "OCI runtime-spec config-linux.md: a namespace type not listed is not created; the container shares the runtime's (host) namespace"
    public static let ociPinnedNamespace =
        "a namespace pinned under /run/netns (ip netns, podman's netavark, CNI), /run/user/UID/netns or /run/{ipc,uts,user}ns is one an engine made for a workload, not the host's"
    public static let ociSeccompAbsent = "OCI runtime-spec config-linux.md: without linux.seccomp no filter is installed"
    public static let ociNoNewPrivileges = "OCI runtime-spec config.md: process.noNewPrivileges defaults to false"
    public static let ociRootReadonly = "OCI runtime-spec config.md: root.readonly defaults to false"
    public static let ociDefaultDevices = "OCI runtime-spec config-linux.md, Default Devices: null, zero, full, random, urandom, tty, ptmx (console with a terminal)"
    public static let noLimit = "no limit declared: the cgroup value stays max"
    public static let k8sSeccomp =
        "Kubernetes: no seccompProfile means Unconfined unless the kubelet runs with --seccomp-default (SeccompDefault, GA in 1.27), which makes it RuntimeDefault"
    public static let k8sPrivilegedSeccomp = "Kubernetes: privileged containers always run seccomp Unconfined (Restrict a Container's Syscalls with seccomp)"
    public static let k8sCapabilities =
        "containerd default capability set (pkg/oci defaultUnixCaps; Moby's is the same); CRI-O's default_capabilities is smaller (no MKNOD, NET_RAW, SYS_CHROOT, SETFCAP, AUDIT_WRITE)"
    public static let k8sAllowPrivilegeEscalation =
        "Kubernetes: allowPrivilegeEscalation defaults to true, so no_new_privs is not set"
    public static let k8sPrivilegeEscalationForced =
        "Kubernetes: allowPrivilegeEscalation is always true for a privileged container or one with CAP_SYS_ADMIN"
    public static let k8sHostUsers = "Kubernetes: hostUsers defaults to true, so the pod uses the host user namespace"
    public static let k8sHostNamespaces = "Kubernetes: hostPID, hostIPC and hostNetwork default to false"
    public static let k8sTimeNamespace = "Kubernetes and CRI runtimes never create a time namespace"
    public static let k8sReadOnlyRootfs = "Kubernetes: readOnlyRootFilesystem defaults to false"
    public static let k8sRootMapped = "Kubernetes: without hostUsers: false there is no user namespace; UID 0 in the container is UID 0 on the host"
    public static let k8sPids = "set per node by the kubelet's podPidsLimit (-1, unlimited, unless the cluster configures one); a pod spec cannot set it"
    public static let k8sCPUPeriod = "kubelet --cpu-cfs-quota-period defaults to 100ms: a CPU limit of 1 is a quota of 100000us per 100000us"
    public static let k8sDevices = "containerd and CRI-O give every container the OCI default devices"
    public static let k8sPrivilegedDevices = "Kubernetes: a privileged container gets every host device"
    public static let k8sPrivilegedCaps = "Kubernetes: a privileged container gets every capability"
    public static let dockerSeccomp = "Docker/Podman: without security_opt seccomp the engine's default seccomp profile applies"
    public static let dockerCapabilities = "Docker/Podman default capability set (Moby oci/caps/defaults.go, containers.conf)"
    public static let dockerNoNewPrivileges = "Docker: no-new-privileges is off unless security_opt sets it"
    public static let dockerUserNamespace = "Docker: no user namespace unless the daemon runs with userns-remap (or userns_mode is set)"
    public static let dockerReadOnly = "Compose: read_only defaults to false"
    public static let dockerPrivileged = "Docker: a privileged container gets every capability and device, no seccomp and no AppArmor profile"
    public static let libvirtSandbox =
        "libvirt qemu.conf seccomp_sandbox defaults to 1: qemu runs with -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
    public static let libvirtMonitor = "libvirt always talks to qemu over a private QMP UNIX socket in its state directory"
    public static let libvirtGraphicsListen = "libvirt qemu.conf vnc_listen and spice_listen default to 127.0.0.1"
    public static let libvirtSeclabel =
        "libvirt formatdomain: without <seclabel>, the host's security driver applies dynamic labelling (svirt)"
    public static let firecrackerSeccomp = "Firecracker installs its default seccomp filters per thread unless started with --no-seccomp (docs/seccomp.md)"
    public static let firecrackerKVM = "Firecracker runs guests only on KVM"
    public static let qemuAccelerator = "qemu manual, -accel: by default TCG is used"
    public static let qemuSandbox = "qemu: without -sandbox no seccomp filter is installed"
    public static let qemuConsoles = "qemu (system/vl.c): without -nodefaults it adds a monitor and a serial port on a virtual console, or on stdio with -nographic"
    public static let qemuNetwork = "qemu (system/vl.c): without -net, -netdev, -nic or -nodefaults it adds user-mode (SLiRP) networking"
    public static let qemuMachine = "qemu-system-x86_64 and qemu-system-i386 use the pc (i440fx) machine by default"
    public static let qemuFloppy = "the i440fx pc board always builds an ISA floppy controller (hw/i386/pc_piix.c), even with -nodefaults (VENOM, CVE-2015-3456)"
}

/// The paths containerd (pkg/oci/spec.go) and Moby (oci/defaults.go) mask and make read-only
/// in every container that is not privileged and does not ask for an unmasked /proc.
public enum ContainerDefaultPaths {
    public static let masked = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi",
    ]
    public static let readOnly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    public static let source =
        "containerd and Moby mask /proc/kcore, /sys/firmware, … and make /proc/sys, /proc/sysrq-trigger, … read-only, except for privileged containers and procMount: Unmasked"

    /// Applies the defaults, or none for a privileged or unmasked container.
    static func apply(to builder: inout DeclaredPosture, unmasked: Bool, at cursor: DocCursor?) {
        builder.posture.maskedPaths = unmasked ? [] : masked
        builder.posture.readOnlyPaths = unmasked ? [] : readOnly
        builder.defaulted("maskedPaths", source, at: cursor)
        builder.defaulted("readOnlyPaths", source, at: cursor)
    }
}

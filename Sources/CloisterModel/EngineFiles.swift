/// The files an engine keeps on the host for one workload and binds into it: Docker's
/// `containers/ID/{resolv.conf,hostname,hosts}`, podman's `overlay-containers/ID/userdata/…`,
/// both engines' named volumes (`volumes/NAME/_data`), containerd's CRI sandbox files, the
/// os-release and zone file systemd-nspawn binds into every machine,
/// the kubelet's `pods/UID/{etc-hosts,containers,volumes/kubernetes.io~TYPE}`. They sit under
/// directories that are sensitive as a whole (`/var/lib/docker`, `/var/lib/kubelet`), but
/// exposing them exposes only the workload's own files, so the rules do not flag them for
/// where they are (rules/README.md, "Sensitive mounts").
///
/// A path is recognised only as the file of the workload at hand (its own container ID, its
/// own pod UID), and by the path's tail, wherever the engine's data root is (`--data-root`,
/// userns-remap's `100000.100000/`, the kubelet's `--root-dir`). Another container's files, a
/// whole `containers/` or `pods/` directory, or a kind of volume not listed are not the engine's
/// per-workload files.
public enum EngineFiles {
    /// Docker's per-container files, in `containers/ID/`; containerd's CRI plugin keeps the same
    /// three per pod sandbox.
    static let dockerFiles: Set<Substring> = ["resolv.conf", "hostname", "hosts"]
    /// Podman's, in `overlay-containers/ID/userdata/` (`run/secrets` is a directory there).
    /// `shm` is the per-container tmpfs podman mounts there and binds at /dev/shm.
    static let podmanFiles: Set<Substring> = ["resolv.conf", "hostname", "hosts", ".containerenv", "run", "shm"]
    /// The kubelet's volume kinds that hold only what the pod was given (its own ConfigMaps,
    /// Secrets, service-account token, downward API, scratch space).
    static let kubeletVolumeKinds: Set<Substring> = [
        "kubernetes.io~projected", "kubernetes.io~configmap", "kubernetes.io~secret",
        "kubernetes.io~downward-api", "kubernetes.io~empty-dir",
    ]

    /// The engine that manages `hostPath` for this workload, or nil.
    /// - Parameters:
    ///   - containerID: the workload's full container ID as its engine names it.
    ///   - podUID: the UID of the Kubernetes pod the workload belongs to, if any.
    ///   - sandboxID: the ID of that pod's CRI sandbox, from the container's own bundle.
    ///   - target: where the workload sees it (for engines that bind a host file to a fixed place).
    public static func manager(
        hostPath: String, runtime: String, containerID: String, podUID: String?, sandboxID: String? = nil,
        target: String? = nil
    ) -> String? {
        guard hostPath.hasPrefix("/") else { return nil }
        let parts = hostPath.split(separator: "/", omittingEmptySubsequences: true)
        // `.` and `..` never appear in a path the kernel reported; refuse them rather than reason about them.
        guard !parts.contains(where: { $0 == "." || $0 == ".." }), !containerID.isEmpty else { return nil }

        if runtime == "docker", parts.count >= 3, parts[parts.count - 3] == "containers",
            parts[parts.count - 2] == containerID, dockerFiles.contains(parts[parts.count - 1])
        {
            return "docker"
        }
        // systemd-nspawn shows every container the host's os-release at /run/host/os-release and
        // sets its /etc/localtime from the host's zone file: two read-only system files of no
        // secret, bound by nspawn itself to those two places.
        if runtime == "systemd-nspawn", let target {
            if target == "/run/host/os-release", hostPath == "/usr/lib/os-release" || hostPath == "/etc/os-release" {
                return "systemd-nspawn"
            }
            if target == "/etc/localtime", hostPath.hasPrefix("/usr/share/zoneinfo/") { return "systemd-nspawn" }
        }
        // containerd's CRI plugin gives a pod's containers their sandbox's hosts, hostname and
        // resolv.conf from `io.containerd.grpc.v1.cri/sandboxes/SANDBOX/`.
        if runtime == "containerd", let sandboxID, parts.count >= 4, parts[parts.count - 4] == "io.containerd.grpc.v1.cri",
            parts[parts.count - 3] == "sandboxes", parts[parts.count - 2] == sandboxID,
            dockerFiles.contains(parts[parts.count - 1])
        {
            return "containerd"
        }
        // A named volume, `volumes/NAME/_data` (or a directory in it): the engine made it for
        // workloads to share, and it exposes only itself.
        if runtime == "docker" || runtime == "podman", let index = parts.lastIndex(of: "_data"), index >= 2,
            parts[index - 2] == "volumes"
        {
            return runtime
        }
        if runtime == "podman", let index = parts.lastIndex(of: "overlay-containers") {
            let rest = Array(parts[(index + 1)...])
            if rest.count >= 3, rest[0] == containerID, rest[1] == "userdata", podmanFiles.contains(rest[2]),
                rest[2] != "run" || (rest.count >= 4 && rest[3] == "secrets")
            {
                return "podman"
            }
        }
        if let podUID, !podUID.isEmpty, let index = parts.lastIndex(of: "pods"), index + 2 < parts.count,
            parts[index + 1] == podUID
        {
            let rest = Array(parts[(index + 2)...])
            switch rest[0] {
            case "etc-hosts" where rest.count == 1:
                return "kubelet"
            case "containers" where rest.count == 3:
                // containers/NAME/ID: the container's termination-log file.
                return "kubelet"
            case "volumes" where rest.count >= 3 && kubeletVolumeKinds.contains(rest[1]):
                return "kubelet"
            default:
                return nil
            }
        }
        return nil
    }

    /// The pod UID in a kubelet cgroup path: `kubepods-besteffort-pod<UID with _>.slice`
    /// (systemd driver) or `kubepods/besteffort/pod<UID>` (cgroupfs driver).
    public static func podUID(cgroupPath: String) -> String? {
        guard cgroupPath.contains("kubepods") else { return nil }
        for component in cgroupPath.split(separator: "/").reversed() {
            var part = Substring(component)
            if part.hasSuffix(".slice") { part = part.dropLast(6) }
            // The UID follows the last "pod" in the component.
            let bytes = Array(part.utf8)
            guard bytes.count >= 39 else { continue }
            let tail = bytes.suffix(36)
            guard Array(bytes[bytes.count - 39 ..< bytes.count - 36]) == Array("pod".utf8) else { continue }
            let candidate = String(decoding: tail.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            if isUID(candidate) { return candidate }
        }
        return nil
    }

    static func isUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102)) {
                return false
            }
        }
        return true
    }
}

import CloisterOCI
import Foundation
import Yams

/// What a deployable configuration is built from: the workload, its command, its capability
/// profile, where its seccomp profile lives, and the runtime advise chose.
public struct DeploymentNeeds: Sendable, Equatable {
    public var name: String
    public var image: String
    public var command: [String]
    public var capabilities: CapabilityProfile
    public var seccomp: LinuxSeccomp
    /// The Kubernetes RuntimeClass for a sandboxed runtime (gvisor, kata), nil for runc.
    public var runtimeClass: String?
    public var generatedFrom: String

    public init(name: String, image: String, command: [String], capabilities: CapabilityProfile, seccomp: LinuxSeccomp,
                runtimeClass: String?, generatedFrom: String) {
        self.name = name
        self.image = image
        self.command = command
        self.capabilities = capabilities
        self.seccomp = seccomp
        self.runtimeClass = runtimeClass
        self.generatedFrom = generatedFrom
    }

    /// The RuntimeClass names the gVisor and Kata Containers projects document for their
    /// handlers (gVisor: `gvisor` with handler runsc; kata-deploy: `kata`, `kata-fc` for
    /// Firecracker). Nil for runc, and for a full or confidential VM, which is not a pod runtime.
    public static func runtimeClass(forOption option: String) -> String? {
        switch option {
        case "gvisor": return "gvisor"
        case "kata": return "kata"
        case "microvm": return "kata-fc"
        default: return nil
        }
    }

    public static let annotation = "cloister.dev/generated-from"
}

/// OCI runtime-spec `config.json` (1.0.2): the hardened bundle configuration runc reads.
public enum OCIConfigGenerator {
    public static func config(for needs: DeploymentNeeds, rootfs: String = "rootfs", user: Spec.User = Spec.User(uid: 65534, gid: 65534)) -> Spec {
        let caps = needs.capabilities
        return Spec(
            ociVersion: "1.0.2",
            process: Spec.Process(
                terminal: false, user: user, args: needs.command,
                env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/",
                capabilities: Spec.Capabilities(bounding: caps.bounding, effective: caps.effective, inheritable: caps.inheritable,
                                                permitted: caps.permitted, ambient: caps.ambient),
                // A bound on descriptors: runc sets the hard limit too, so it must not exceed the host's.
                rlimits: [Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)],
                noNewPrivileges: true),
            root: Spec.Root(path: rootfs, readonly: true),
            hostname: needs.name,
            mounts: [
                Spec.Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
                Spec.Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Spec.Mount(destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
                Spec.Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                Spec.Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
                Spec.Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
                Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=65536k"]),
            ],
            linux: Spec.Linux(
                namespaces: ["pid", "network", "ipc", "uts", "mount", "cgroup"].map { Spec.Namespace(type: $0) },
                seccomp: needs.seccomp,
                maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                              "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
                readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]),
            annotations: [DeploymentNeeds.annotation: needs.generatedFrom])
    }
}

/// A Kubernetes Deployment (apps/v1) or Pod (v1) with a restricted securityContext, the seccomp profile as
/// a Localhost profile the node holds at `<kubelet-root>/seccomp/<localhostProfile>`, and the
/// RuntimeClass of a sandboxed runtime when advise chose one.
public enum KubernetesGenerator {
    public enum Kind: String, Sendable, CaseIterable {
        case deployment = "Deployment"
        case pod = "Pod"
    }

    public static func deployment(for needs: DeploymentNeeds, localhostProfile: String) throws -> String {
        try manifest(for: needs, kind: .deployment, localhostProfile: localhostProfile)
    }

    public static func manifest(for needs: DeploymentNeeds, kind: Kind, localhostProfile: String) throws -> String {
        let drop: [String] = ["ALL"]
        let add = needs.capabilities.bounding.map { $0.hasPrefix("CAP_") ? String($0.dropFirst(4)) : $0 }
        var podSpec: [String: Any] = [
            "automountServiceAccountToken": false,
            "securityContext": [
                "runAsNonRoot": true,
                "runAsUser": 65534,
                "runAsGroup": 65534,
                "seccompProfile": ["type": "Localhost", "localhostProfile": localhostProfile],
            ] as [String: Any],
            "containers": [[
                "name": needs.name,
                "image": needs.image,
                "command": needs.command,
                "securityContext": [
                    "allowPrivilegeEscalation": false,
                    "privileged": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": (add.isEmpty ? ["drop": drop] : ["drop": drop, "add": add]) as [String: Any],
                    "seccompProfile": ["type": "Localhost", "localhostProfile": localhostProfile],
                ] as [String: Any],
            ] as [String: Any]],
        ]
        if let runtimeClass = needs.runtimeClass { podSpec["runtimeClassName"] = runtimeClass }
        let labels = ["app.kubernetes.io/name": needs.name]
        let metadata: [String: Any] = ["name": needs.name, "labels": labels,
                                       "annotations": [DeploymentNeeds.annotation: needs.generatedFrom]]
        let header = "# Generated by cloister profile from \(AppArmorGenerator.comment(needs.generatedFrom)).\n"
        if kind == .pod {
            let pod: [String: Any] = ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": podSpec]
            return header + (try Yams.dump(object: pod, sortKeys: true))
        }
        let document: [String: Any] = [
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": ["name": needs.name, "labels": labels,
                         "annotations": [DeploymentNeeds.annotation: needs.generatedFrom]] as [String: Any],
            "spec": [
                "replicas": 1,
                "selector": ["matchLabels": labels],
                "template": ["metadata": ["labels": labels], "spec": podSpec] as [String: Any],
            ] as [String: Any],
        ]
        return header + (try Yams.dump(object: document, sortKeys: true))
    }

    /// Kubernetes object names: DNS-1123 labels.
    public static func objectName(_ raw: String) -> String {
        let mapped = String(raw.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        let trimmed = mapped.split(separator: "-").joined(separator: "-")
        return trimmed.isEmpty ? "workload" : String(trimmed.prefix(63))
    }
}

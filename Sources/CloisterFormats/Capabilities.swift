import CloisterModel

/// Linux capability names as declared data (the lists are the model's `CapabilityNames`).
public enum LinuxCapabilities {
    public static let all: [String] = CapabilityNames.all

    static let numbers: [String: Int] = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })

    /// The set containerd (pkg/oci defaultUnixCaps), Moby/Docker (oci/caps/defaults.go) and
    /// Podman's containers.conf give a container that is not privileged.
    public static let containerDefault: [String] = sorted(CapabilityNames.containerDefault)

    /// CRI-O's default_capabilities (crio.conf(5), since CRI-O 1.18): the containerd set
    /// without MKNOD, NET_RAW, SYS_CHROOT, SETFCAP and AUDIT_WRITE.
    public static let crioDefault: [String] = sorted([
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL",
    ])

    /// `NET_ADMIN`, `net_admin` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `ALL` stays `ALL`.
    public static func normalize(_ name: String) -> String {
        let upper = name.uppercased()
        if upper == "ALL" { return upper }
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }

    public static func isKnown(_ name: String) -> Bool { numbers[name] != nil }

    /// Sorted by capability number; unknown names (newer kernels) after, alphabetically.
    public static func sorted<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        Set(names).sorted { lhs, rhs in
            switch (numbers[lhs], numbers[rhs]) {
            case let (l?, r?): l < r
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): lhs < rhs
            }
        }
    }

    /// The runtime's default set with Kubernetes/Compose `add` and `drop` applied in
    /// containerd's order (internal/cri/opts/spec_linux.go setOCICapabilities): add ALL, drop
    /// ALL, then each named add, then each named drop. So `drop: [ALL], add: [X]` leaves X,
    /// `add: [ALL], drop: [X]` leaves all but X, and a name both added and dropped is dropped.
    public static func adjust(_ base: [String], add: [String], drop: [String]) -> [String] {
        var set = Set(base)
        let drop = drop.map(normalize)
        let add = add.map(normalize)
        if add.contains("ALL") { set.formUnion(all) }
        if drop.contains("ALL") { set = [] }
        set.formUnion(add.filter { $0 != "ALL" })
        set.subtract(drop)
        return sorted(set)
    }

    /// The sets the container's process holds once the runtime has exec'd it, which is what a
    /// scan observes: the runtime applies the declared sets and then calls execve(2), and the
    /// kernel recomputes them (capabilities(7), "Transformation of capabilities during
    /// execve()"), assuming a program without file capabilities or set-user-ID bit:
    /// - UID 0: permitted and effective become inheritable ∪ bounding;
    /// - any other UID: permitted and effective become the ambient set, which only holds
    ///   capabilities that are both permitted and inheritable.
    public static func afterExec(_ declared: CapabilitySets, uid: UInt32) -> CapabilitySets {
        var result = declared
        let ambient = Set(declared.ambient).intersection(declared.permitted).intersection(declared.inheritable)
        result.ambient = sorted(ambient)
        if uid == 0 {
            let permitted = sorted(Set(declared.inheritable).union(declared.bounding))
            result.permitted = permitted
            result.effective = permitted
        } else {
            result.permitted = sorted(ambient)
            result.effective = sorted(ambient)
        }
        return result
    }
}

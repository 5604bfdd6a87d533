import CloisterModel
import CloisterSystem

/// Facts about the host: kernel, LSMs, cgroup mode, KVM, and the sysctls that bound what an
/// unprivileged process can reach.
enum HostInspector {
    static func inspect(root: HostRoot, mounts: [MountInfoEntry]) -> HostFacts {
        var facts = HostFacts()
        if root.isLive {
            let name = Kernel.uname()
            facts.hostname = name.nodename
            facts.kernel = name.release
            facts.kernelVersion = name.version
            facts.architecture = name.machine
            let kvm = KVMProbe.probe()
            facts.kvm = KVMFacts(present: kvm.present, usable: kvm.usable, apiVersion: kvm.api, reason: kvm.reason)
            facts.landlockABI = Landlock.abiVersion
            if facts.landlockABI == nil { facts.unknown["landlockABI"] = "landlock_create_ruleset reports Landlock absent or disabled" }
            facts.libseccompVersion = SeccompLibrary.version
        } else {
            facts.hostname = root.readTextIfPresent("/proc/sys/kernel/hostname").map(firstLine)
            facts.kernel = root.readTextIfPresent("/proc/sys/kernel/osrelease").map(firstLine)
            facts.kernelVersion = root.readTextIfPresent("/proc/sys/kernel/version").map(firstLine)
            facts.kvm = KVMFacts(present: false, usable: false, reason: "not probed: scanning a captured tree")
        }

        facts.kernelBuild = KernelBuild.identify(release: facts.kernel, version: facts.kernelVersion)
        facts.lsms = activeLSMs(root: root)
        if facts.lsms == nil {
            facts.unknown["lsms"] = "securityfs is not mounted at /sys/kernel/security, so the LSM list cannot be read"
        }
        switch root.readTextIfPresent("/sys/fs/selinux/enforce").map(firstLine) {
        case "1": facts.selinuxEnforcing = true
        case "0": facts.selinuxEnforcing = false
        default: break
        }
        facts.cgroupVersion = cgroupVersion(mounts: mounts)
        facts.unprivilegedUserNamespaces = root.readTextIfPresent("/proc/sys/kernel/unprivileged_userns_clone")
            .flatMap { Int(firstLine($0)) }.map { $0 != 0 }
        facts.maxUserNamespaces = root.readTextIfPresent("/proc/sys/user/max_user_namespaces").flatMap { Int(firstLine($0)) }
        if facts.unprivilegedUserNamespaces == nil, let max = facts.maxUserNamespaces {
            facts.unprivilegedUserNamespaces = max > 0
        }
        facts.unprivilegedBPFDisabled = root.readTextIfPresent("/proc/sys/kernel/unprivileged_bpf_disabled")
            .flatMap { Int(firstLine($0)) }
        facts.ptraceScope = root.readTextIfPresent("/proc/sys/kernel/yama/ptrace_scope").flatMap { Int(firstLine($0)) }
        facts.kptrRestrict = root.readTextIfPresent("/proc/sys/kernel/kptr_restrict").flatMap { Int(firstLine($0)) }
        facts.perfEventParanoid = root.readTextIfPresent("/proc/sys/kernel/perf_event_paranoid").flatMap { Int(firstLine($0)) }
        facts.unprivilegedUserfaultfd = root.readTextIfPresent("/proc/sys/vm/unprivileged_userfaultfd").flatMap { Int(firstLine($0)) }
        facts.seccompActions = root.readTextIfPresent("/proc/sys/kernel/seccomp/actions_avail")
            .map { firstLine($0).split(separator: " ").map(String.init) }
        facts.capLastCap = root.readTextIfPresent("/proc/sys/kernel/cap_last_cap").flatMap { Int(firstLine($0)) }
        if facts.capLastCap == nil { facts.unknown["capLastCap"] = "cannot read /proc/sys/kernel/cap_last_cap" }
        facts.virtualization = VirtualizationFacts.decide(
            cpuFlagHypervisor: root.readTextIfPresent("/proc/cpuinfo").map(cpuinfoHasHypervisorFlag),
            cpuidSignature: root.isLive ? CPUIdentity.hypervisorVendor : nil,
            sysHypervisorType: root.readTextIfPresent("/sys/hypervisor/type").map(firstLine),
            dmiVendor: root.readTextIfPresent("/sys/class/dmi/id/sys_vendor").map(firstLine),
            dmiProduct: root.readTextIfPresent("/sys/class/dmi/id/product_name").map(firstLine))
        if facts.virtualization == nil { facts.unknown["virtualization"] = "neither /proc/cpuinfo nor DMI could be read" }
        facts.inventory = PackageInventory.read(root: root, kernelRelease: facts.kernel)
        return facts
    }

    /// The first `flags` line of /proc/cpuinfo holds `hypervisor` when the kernel runs in a guest
    /// (CPUID leaf 1, ECX bit 31).
    static func cpuinfoHasHypervisorFlag(_ text: String) -> Bool {
        for line in text.split(separator: "\n").prefix(64) where line.hasPrefix("flags") {
            return line.split(separator: " ").contains("hypervisor")
        }
        return false
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// The kernel's list when securityfs is mounted; otherwise what each LSM's own interface shows.
    static func activeLSMs(root: HostRoot) -> [String]? {
        if let list = root.readTextIfPresent("/sys/kernel/security/lsm") {
            return firstLine(list).split(separator: ",").map(String.init)
        }
        var found: [String] = []
        var decided = false
        if let enabled = root.readTextIfPresent("/sys/module/apparmor/parameters/enabled") {
            decided = true
            if firstLine(enabled) == "Y" { found.append("apparmor") }
        }
        if Files.exists(root.path("/sys/fs/selinux/enforce")) {
            decided = true
            found.append("selinux")
        }
        return decided ? found : nil
    }

    static func cgroupVersion(mounts: [MountInfoEntry]) -> String? {
        let hasV1 = mounts.contains { $0.fsType == "cgroup" }
        let unified = mounts.first { $0.fsType == "cgroup2" }
        switch (hasV1, unified) {
        case (true, .some): return "hybrid"
        case (true, .none): return "v1"
        case (false, .some(let entry)) where entry.mountPoint == "/sys/fs/cgroup": return "v2"
        case (false, .some): return "v2"
        case (false, .none): return nil
        }
    }
}

/// Where each cgroup controller's hierarchy is mounted on the host.
struct CgroupHierarchies {
    /// v1 controller (or `name=systemd`) → mount point.
    var v1: [String: String] = [:]
    var unified: String?

    init(hostMounts: [MountInfoEntry]) {
        for entry in hostMounts {
            if entry.fsType == "cgroup2", unified == nil { unified = entry.mountPoint }
            if entry.fsType == "cgroup" {
                for option in entry.superOptions where option != "rw" && option != "ro" {
                    if v1[option] == nil { v1[option] = entry.mountPoint }
                }
            }
        }
    }
}

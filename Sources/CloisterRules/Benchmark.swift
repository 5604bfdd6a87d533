import CloisterModel
import Foundation

/// Rule evaluation cost over synthetic postures (`cloister rules benchmark`).
public enum RuleBenchmark {
    public struct Result: Sendable {
        public var postures: Int
        public var rules: Int
        public var findings: Int
        /// Milliseconds per run (encoding the postures included), median of the runs.
        public var medianMilliseconds: Double
        public var runs: [Double]
        /// Exposure scoring of the same postures, median milliseconds.
        public var scoringMedianMilliseconds: Double?
        /// Of the evaluation: turning the postures into trees, median milliseconds.
        public var encodingMedianMilliseconds: Double
    }

    /// Deterministic, varied postures: every kind, with settings opened in a pseudo-random mix
    /// so that conditions are exercised down their longer paths too.
    public static func syntheticPostures(count: Int, seed: UInt64 = 0x5EED) -> [Posture] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
        return (0..<count).map { index in
            let kind = WorkloadKind.allCases[index % WorkloadKind.allCases.count]
            var posture = HardenedPosture.make(kind: kind, id: "bench:\(index)")
            if chance(20) { posture.seccomp = Seccomp(mode: .disabled) }
            if chance(20) { posture.noNewPrivileges = false }
            if chance(15) { posture.capabilities.effective = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN"] }
            if chance(15) { posture.capabilities.bounding = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_PTRACE"] }
            if chance(15) { posture.mac = MACLabels() }
            if chance(10) { posture.unknown = ["seccomp": "unreadable"] }
            if chance(10) {
                posture.mac.selinux = SELinuxLabel(
                    context: "system_u:system_r:svirt_t:s0:c1,c2", user: "system_u", role: "system_r", type: "svirt_t",
                    level: "s0:c\(next() % 4),c9")
            }
            switch kind {
            case .container, .sandbox:
                if chance(15) { posture.namespaces.pid = .host }
                if chance(15) { posture.namespaces.net = .host }
                if chance(20) { posture.readOnlyRootfs = false }
                if chance(20) { posture.cgroup?.memoryMax = .max }
                for extra in 0..<Int(next() % 6) {
                    posture.mounts.append(Mount(
                        source: "/dev/sda1", target: "/data\(extra)", readOnly: chance(50), type: "ext4",
                        hostPath: chance(10) ? "/etc" : "/srv/data\(extra)"))
                }
                if chance(10) { posture.devices.append(Device(path: "/dev/sdb", access: "rw", source: .rootfs, type: "block")) }
            case .vm:
                if chance(20) { posture.hypervisor?.accelerator = "tcg" }
                if chance(20) { posture.hypervisor?.sandbox = HypervisorSandbox(enabled: chance(50)) }
                if chance(20) {
                    posture.hypervisor?.consoles.append(Console(
                        kind: "vnc", transport: "tcp", address: "0.0.0.0:5901", localOnly: false, password: false))
                }
                if chance(10) { posture.hypervisor?.legacyDevices = ["floppy"] }
                if chance(10) { posture.hypervisor?.network = [NetworkBackend(type: "user", implicit: true)] }
            }
            return posture
        }
    }

    /// `clock` returns nanoseconds; the command passes the thread's CPU clock so that other
    /// load on the machine does not count, and the wall clock is the default.
    public static func run(
        pack: RulePack, policy: ExposurePolicy?, postures count: Int = 1000, runs: Int = 7,
        clock: () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) -> Result {
        let postures = syntheticPostures(count: count)
        let engine = RuleEngine(pack: pack)
        var times: [Double] = []
        var findings = 0
        for _ in 0..<max(runs, 1) {
            let start = clock()
            findings = engine.evaluate(postures).count
            times.append(Double(clock() - start) / 1_000_000)
        }
        var encodeTimes: [Double] = []
        for _ in 0..<max(runs, 1) {
            let start = clock()
            _ = postures.map(PostureTree.make)
            encodeTimes.append(Double(clock() - start) / 1_000_000)
        }
        var scoring: Double?
        if let policy {
            let scorer = ExposureScorer(policy: policy)
            var scoreTimes: [Double] = []
            for _ in 0..<max(runs, 1) {
                let start = clock()
                _ = scorer.scored(postures)
                scoreTimes.append(Double(clock() - start) / 1_000_000)
            }
            scoring = median(scoreTimes)
        }
        return Result(
            postures: count, rules: pack.rules.count, findings: findings, medianMilliseconds: median(times), runs: times,
            scoringMedianMilliseconds: scoring, encodingMedianMilliseconds: median(encodeTimes))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

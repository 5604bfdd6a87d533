import CloisterModel
import CloisterRules
import Testing

@Suite("Exposure score")
struct ExposureTests {
    let scorer = ExposureScorer(policy: Shipped.policy)

    @Test("Hardened postures of every kind are perfect")
    func hardened() {
        for kind in WorkloadKind.allCases {
            let exposure = scorer.score(HardenedPosture.make(kind: kind))
            #expect(exposure == Exposure(score: 0.0, level: "perfect"), "\(kind)")
        }
    }

    /// The shared settings, weakened the same way on a container and on a VM.
    static let weakenings: [(String, @Sendable (inout Posture) -> Void)] = [
        ("seccomp off", { $0.seccomp = Seccomp(mode: .disabled) }),
        ("runs as host root", { $0.user.hostUid = 0; $0.user.rootMappedToHost = true }),
        ("CAP_SYS_ADMIN", { $0.capabilities.effective = ["CAP_SYS_ADMIN"]; $0.capabilities.bounding = ["CAP_SYS_ADMIN"] }),
        ("no MAC", { $0.mac = MACLabels() }),
        ("no_new_privs unset", { $0.noNewPrivileges = false }),
        ("no limits", { $0.cgroup?.memoryMax = .max; $0.cgroup?.pidsMax = .max }),
        ("raw memory device", { $0.devices.append(Device(path: "/dev/mem", access: "r", source: .fd, type: "char")) }),
        ("everything", {
            $0.seccomp = Seccomp(mode: .disabled)
            $0.user.hostUid = 0
            $0.capabilities.effective = ["CAP_SYS_ADMIN"]
            $0.mac = MACLabels()
            $0.noNewPrivileges = false
        }),
    ]

    @Test("A container and a VM confined the same way score the same", arguments: 0..<weakenings.count)
    func sameConfinementSameScore(index: Int) {
        let (name, weaken) = Self.weakenings[index]
        var container = HardenedPosture.make(kind: .container)
        var vm = HardenedPosture.make(kind: .vm)
        weaken(&container)
        weaken(&vm)
        let containerScore = scorer.explain(container)
        let vmScore = scorer.explain(vm)
        #expect(containerScore.exposure.score > 0, "\(name)")
        #expect(containerScore.exposure == vmScore.exposure, "\(name)")
        #expect(containerScore.sharedScore == vmScore.sharedScore, "\(name)")
    }

    @Test("Shared settings carry one weight for every kind")
    func sharedWeights() {
        let shared = Shipped.policy.settings.filter(\.isShared).map(\.id)
        for id in ["capabilities", "seccomp", "no-new-privileges", "root", "mac", "devices"] {
            #expect(shared.contains(id), "\(id) must apply to every kind")
        }
    }

    @Test("A wide-open container is unsafe; the score grows with what is opened")
    func monotonic() {
        var posture = HardenedPosture.make(kind: .container)
        var last = scorer.score(posture).score
        let steps: [(inout Posture) -> Void] = [
            { $0.noNewPrivileges = false },
            { $0.seccomp = Seccomp(mode: .disabled) },
            { $0.namespaces.pid = .host; $0.namespaces.net = .host },
            { $0.user.hostUid = 0; $0.user.rootMappedToHost = true },
            { $0.capabilities.effective = ["CAP_SYS_ADMIN"] },
            { $0.mac = MACLabels() },
            { $0.cgroup?.devicesAllowAll = true; $0.readOnlyRootfs = false; $0.namespaces.ipc = .host; $0.namespaces.uts = .host },
            { $0.mounts.append(Mount(source: "/dev/sda1", target: "/host", readOnly: false, type: "ext4", hostPath: "/")) },
            { $0.cgroup?.memoryMax = .max; $0.cgroup?.pidsMax = .max },
        ]
        for step in steps {
            step(&posture)
            let score = scorer.score(posture).score
            #expect(score > last)
            last = score
        }
        #expect(last == 10.0)
        #expect(scorer.score(posture).level == "unsafe")
    }

    @Test("An unknown setting is scored as exposed, not as safe")
    func unknownIsNotSafe() {
        var posture = HardenedPosture.make(kind: .container)
        posture.seccomp = nil
        posture.unknown = ["seccomp": "unreadable"]
        let breakdown = scorer.explain(posture)
        #expect(breakdown.contributions.first { $0.setting == "seccomp" }?.unknown == true)
        #expect(breakdown.exposure.score > 0)
    }

    @Test("A policy file of a newer version, or with a bad condition, is refused with file and line")
    func badPolicy() {
        #expect(throws: InputFileError.self) {
            try ExposurePolicy.parse(yaml: "version: 3\nsettings: []\n", file: "p.yaml")
        }
        do {
            _ = try ExposurePolicy.parse(yaml: """
                version: 1
                levels: [{name: all, upTo: 10}]
                settings:
                  - id: s
                    weight: 1
                    badness:
                      - when: {field: seccomp.mood, equals: disabled}
                        value: 1
                """, file: "p.yaml")
            Issue.record("accepted a bad policy")
        } catch let error as InputFileErrors {
            #expect(error.errors.first?.line == 7)
            #expect(error.errors.first?.message.contains("seccomp.mood") == true)
        } catch {
            Issue.record("\(error)")
        }
    }
}

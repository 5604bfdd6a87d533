import CloisterModel
import CloisterRules
import Testing

@Suite("Rule engine")
struct EngineTests {
    func container(_ change: (inout Posture) -> Void) -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: "podman:abc")
        change(&posture)
        return posture
    }

    @Test("A fired rule cites its evidence and fills the message from the posture")
    func evidenceAndMessage() throws {
        let posture = container {
            $0.mounts.append(Mount(source: "/dev/sda1", target: "/host", readOnly: false, type: "ext4", root: "/", hostPath: "/"))
        }
        let findings = RuleEngine(pack: Shipped.pack).evaluate([posture])
        let finding = try #require(findings.first { $0.rule == "ct-sensitive-mount-rw" })
        #expect(finding.severity == .critical)
        #expect(finding.workload == "podman:abc")
        #expect(finding.message == "host directory / is mounted read-write at /host")
        #expect(finding.evidence["mounts[5].hostPath"] == "/")
        #expect(finding.evidence["mounts[5].readOnly"] == "false")
        #expect(finding.references.contains { $0.source == "cis-docker-1.6.0" && $0.id == "5.6" })
    }

    @Test("A rule whose field is unknown yields no finding but is reported undetermined")
    func unknownNeverFires() {
        let posture = container {
            $0.seccomp = nil
            $0.unknown = ["seccomp": "status unreadable"]
        }
        let evaluation = RuleEngine(pack: Shipped.pack).evaluateDetailed([posture])
        #expect(!evaluation.findings.contains { $0.rule == "ct-seccomp-unconfined" })
        let undetermined = evaluation.undetermined.first { $0.rule == "ct-seccomp-unconfined" }
        #expect(undetermined?.fields["seccomp"] == "status unreadable")
    }

    @Test("An unknown field inside a list element is unknown too")
    func unknownListElement() {
        let posture = container { $0.unknown = ["mounts[2].hostPath": "bind source not resolvable"] }
        let evaluation = RuleEngine(pack: Shipped.pack).evaluateDetailed([posture])
        #expect(evaluation.undetermined.contains { $0.rule == "ct-engine-socket" })
    }

    @Test("A declared posture's finding lands on the line that declared the field")
    func fieldLocation() throws {
        var posture = container { $0.capabilities.bounding = ["CAP_SYS_PTRACE"] }
        posture.source = .declared
        posture.location = SourceLocation(file: "pod.yaml", line: 1)
        posture.fieldLocations = ["capabilities.bounding": SourceLocation(file: "pod.yaml", line: 14, column: 9)]
        let finding = try #require(RuleEngine(pack: Shipped.pack).evaluate([posture]).first { $0.rule == "ct-cap-added" })
        #expect(finding.location?.line == 14)
        let other = try #require(RuleEngine(pack: Shipped.pack).evaluate([container {
            $0.location = SourceLocation(file: "pod.yaml", line: 3)
            $0.namespaces.pid = .host
        }]).first)
        #expect(other.location?.line == 3)
    }

    @Test("A shared sVirt label is found across workloads, and names the other one")
    func sharedLabel() throws {
        func guest(_ id: String, level: String) -> Posture {
            var posture = HardenedPosture.make(kind: .vm, id: id)
            posture.mac.selinux = SELinuxLabel(
                context: "system_u:system_r:svirt_t:\(level)", user: "system_u", role: "system_r", type: "svirt_t", level: level)
            return posture
        }
        let findings = RuleEngine(pack: Shipped.pack).evaluate([
            guest("qemu:a", level: "s0:c1,c2"), guest("qemu:b", level: "s0:c1,c2"), guest("qemu:c", level: "s0:c3,c4"),
        ]).filter { $0.rule == "vm-svirt-shared" }
        #expect(findings.map(\.workload) == ["qemu:a", "qemu:b"])
        #expect(findings.first?.evidence["mac.selinux.level (shared with)"] == "qemu:b")
    }

    @Test("Findings within a workload come most severe first")
    func ordering() {
        let posture = container {
            $0.namespaces.uts = .host
            $0.seccomp = Seccomp(mode: .disabled)
        }
        let severities = RuleEngine(pack: Shipped.pack).evaluate([posture]).map(\.severity)
        #expect(severities == severities.sorted(by: >))
    }

    @Test("A case that does not behave as declared fails")
    func failingCaseIsCaught() throws {
        let yaml = """
            version: 1
            rules:
              - id: test-rule
                title: t
                severity: low
                kinds: [container]
                when: {field: namespaces.pid, equals: host}
                message: m
                remediation: r
                references: {nist: "4.4.3"}
                cases:
                  fires:
                    - posture: {namespaces: {pid: private}}
                  silent:
                    - posture: {namespaces: {pid: host}}
            """
        let rules = try RulePack.parse(yaml: yaml, file: "t.yaml")
        let results = RuleTester.run(try #require(rules.first))
        #expect(results.count == 2)
        #expect(results.allSatisfy { !$0.passed })
        #expect(results.first?.line == 13)
    }
}

@Suite("Declared defaults and undetermined rules")
struct DefaultsTests {
    @Test("A finding on a value the file left to the platform's default says so")
    func defaulted() throws {
        var posture = HardenedPosture.make(kind: .container, id: "k8s:default/pod/web")
        posture.source = .declared
        posture.seccomp = Seccomp(mode: .disabled)
        posture.defaulted = ["seccomp.mode"]
        let finding = try #require(RuleEngine(pack: Shipped.pack).evaluate([posture]).first { $0.rule == "ct-seccomp-unconfined" })
        #expect(finding.evidence["defaulted"] == "seccomp.mode")
        #expect(finding.message.hasSuffix("(not set in the file: the platform's default applies to seccomp.mode)"))
    }

    @Test("An undetermined rule becomes a scan issue naming the field and why")
    func undeterminedIssue() throws {
        var posture = HardenedPosture.make(kind: .container, id: "runc:x")
        posture.unknown = ["namespaces.pid": "ns link unreadable"]
        let evaluation = RuleEngine(pack: Shipped.pack).evaluateDetailed([posture])
        let issue = try #require(evaluation.undetermined.first { $0.rule == "ct-host-pid" }).asIssue
        #expect(issue.workload == "runc:x")
        #expect(issue.message == "rule ct-host-pid was not decided for runc:x: namespaces.pid: ns link unreadable")
    }
}

import CloisterCodec
import CloisterModel
import CloisterResourceFiles
import Foundation
import Testing

@testable import CloisterRules

/// The Pod Security Standards as the shipped data says them, case by case from the standard's
/// text (kubernetes.io, "Pod Security Standards") and Pod Security Admission's checks: every
/// control, allowed and forbidden values, pod and container level, init and ephemeral
/// containers, and the versions where a control appears or changes.
@Suite("Pod Security Standards")
struct PodSecurityStandardsTests {
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let standards: PodSecurityStandards = {
        // swiftlint:disable:next force_try
        try! PodSecurityStandards.load(path: repository + "/rules/" + PodSecurityStandards.relativePath)
    }()

    /// A pod that meets restricted at every version: the base each case changes one thing of.
    static let restrictedPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile: {type: RuntimeDefault}
          containers:
          - name: app
            image: x
            securityContext:
              allowPrivilegeEscalation: false
              capabilities: {drop: [ALL]}
        """

    /// The restricted pod with `podLines` added to `spec` and `containerLines` to the container
    /// (both as they would be written in place, indented for their level).
    static func pod(
        spec podLines: String = "", container containerLines: String = "", metadata: String = "", context: String = "",
        podContext: String = ""
    ) -> PodSecurityInput {
        var text = restrictedPod
        if !podContext.isEmpty {
            text = text.replacingOccurrences(of: "    seccompProfile: {type: RuntimeDefault}", with: "    seccompProfile: {type: RuntimeDefault}\n" + podContext)
        }
        if !context.isEmpty {
            text = text.replacingOccurrences(of: "      capabilities: {drop: [ALL]}", with: "      capabilities: {drop: [ALL]}\n" + context)
        }
        if !containerLines.isEmpty { text = text.replacingOccurrences(of: "    image: x", with: "    image: x\n" + containerLines) }
        if !podLines.isEmpty { text = text.replacingOccurrences(of: "  containers:", with: podLines + "\n  containers:") }
        if !metadata.isEmpty { text = text.replacingOccurrences(of: "  name: p", with: "  name: p\n" + metadata) }
        return input(text)
    }

    static func input(_ text: String) -> PodSecurityInput {
        // swiftlint:disable:next force_try
        var documents = try! YAMLText.documents(text, file: "pod.yaml")
        // swiftlint:disable:next force_try
        let cursor = DocCursor(try! documents.next()!)
        return PodSecurityInput(spec: cursor["spec"]!, metadata: cursor["metadata"])
    }

    static func violated(_ pod: PodSecurityInput, _ policy: String) -> [String] {
        standards.evaluate(pod, policy: PodSecurityPolicy(policy)!).map(\.check)
    }

    // MARK: - The data

    @Test func theDataNamesEveryControlOfTheStandard() {
        let controls = Set(Self.standards.checks.map { "\($0.level.rawValue)/\($0.control)" })
        let expected: Set<String> = [
            "baseline/HostProcess", "baseline/Host Namespaces", "baseline/Privileged Containers", "baseline/Capabilities",
            "baseline/HostPath Volumes", "baseline/Host Ports", "baseline/Host Probes / Lifecycle Hooks", "baseline/AppArmor",
            "baseline/SELinux", "baseline/Seccomp", "baseline/Sysctls", "baseline//proc Mount Type",
            "restricted/Volume Types", "restricted/Privilege Escalation", "restricted/Running as Non-root",
            "restricted/Running as Non-root user", "restricted/Seccomp", "restricted/Capabilities", "restricted//proc Mount Type",
        ]
        #expect(controls == expected)
        #expect(Self.standards.resolve(.latest) == 35)
        #expect(Self.standards.resolve(PodSecurityVersion("v1.99")!) == 35)
        let ids = Self.standards.rules.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.contains("pss-baseline-host-namespaces"))
        #expect(ids.contains("pss-restricted-proc-mount-type"))
        for rule in Self.standards.rules {
            #expect(rule.references.asReferences.contains { $0.source == "k8s-pss" })
            #expect(!rule.remediation.isEmpty)
        }
    }

    @Test func restrictedAtEachLevelAndVersion() {
        for minor in 0...36 {
            let version = "v1.\(minor)"
            #expect(Self.violated(Self.pod(), "restricted:\(version)").isEmpty, "restricted \(version)")
            #expect(Self.violated(Self.pod(), "baseline:\(version)").isEmpty, "baseline \(version)")
        }
        #expect(Self.standards.level(of: Self.pod(), version: .latest) == .restricted)
        #expect(Self.violated(Self.pod(spec: "  hostPID: true"), "privileged").isEmpty)
    }

    @Test func levelsMetBySpecsOfEachKind() {
        let plain = Self.input("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n")
        #expect(Self.standards.level(of: plain, version: .latest) == .baseline)
        #expect(Self.violated(plain, "baseline").isEmpty)
        #expect(
            Self.violated(plain, "restricted")
                == ["allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"])
        #expect(Self.standards.level(of: Self.pod(spec: "  hostIPC: true"), version: .latest) == .privileged)
    }

    // MARK: - Baseline

    @Test func hostNamespaces() throws {
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            #expect(Self.violated(Self.pod(spec: "  \(field): true"), "baseline:v1.0") == ["hostNamespaces"])
            #expect(Self.violated(Self.pod(spec: "  \(field): false"), "baseline").isEmpty)
        }
        let all = Self.standards.evaluate(
            Self.pod(spec: "  hostPID: true\n  hostNetwork: true\n  hostIPC: true"), policy: PodSecurityPolicy(level: .baseline))
        let violation = try #require(all.first)
        #expect(violation.text == "host namespaces (hostIPC, hostNetwork, hostPID)")
        #expect(violation.containers.isEmpty)
        #expect(violation.at?.path == "spec.hostPID")
    }

    @Test func privilegedInEveryContainerList() throws {
        #expect(Self.violated(Self.pod(context: "      privileged: true"), "baseline") == ["privileged"])
        #expect(Self.violated(Self.pod(context: "      privileged: false"), "baseline").isEmpty)
        for list in ["initContainers", "ephemeralContainers"] {
            let pod = Self.pod(spec: "  \(list):\n  - name: side\n    image: x\n    securityContext: {privileged: true}")
            let violations = Self.standards.evaluate(pod, policy: PodSecurityPolicy(level: .baseline))
            #expect(violations.map(\.check) == ["privileged"], "\(list)")
            #expect(violations.first?.containers == ["side"])
            #expect(violations.first?.text == "privileged (container \"side\" must not set securityContext.privileged=true)")
        }
    }

    @Test func baselineCapabilities() {
        func adding(_ capability: String) -> PodSecurityInput {
            Self.input(Self.restrictedPod.replacingOccurrences(of: "{drop: [ALL]}", with: "{add: [\(capability)]}"))
        }
        #expect(Self.violated(adding("SYS_ADMIN"), "baseline") == ["capabilities_baseline"])
        for allowed in ["AUDIT_WRITE", "CHOWN", "NET_BIND_SERVICE", "SYS_CHROOT", "MKNOD", "SETFCAP"] {
            #expect(Self.violated(adding(allowed), "baseline").isEmpty, "\(allowed)")
        }
        // Compared exactly, as PSA does: the CAP_ prefix or lower case is not in the allowed list.
        #expect(Self.violated(adding("CAP_CHOWN"), "baseline") == ["capabilities_baseline"])
        #expect(Self.violated(adding("NET_RAW"), "baseline") == ["capabilities_baseline"])
    }

    @Test func hostPathVolumesWhetherMountedOrNot() {
        let unmounted = Self.pod(spec: "  volumes:\n  - name: host\n    hostPath: {path: /var}")
        #expect(Self.violated(unmounted, "baseline") == ["hostPathVolumes"])
        // Restricted replaces the HostPath control by Volume Types, which forbids it too.
        #expect(Self.violated(unmounted, "restricted") == ["restrictedVolumes"])
        let judged = Self.standards.violations(unmounted, version: .latest)
        #expect(judged.map(\.check) == ["hostPathVolumes", "restrictedVolumes"])
        #expect(judged.last?.text == "restricted volume types (volume \"host\" uses restricted volume type \"hostPath\")")
    }

    @Test func hostPorts() {
        let one = Self.pod(container: "    ports: [{containerPort: 80, hostPort: 8080}]")
        #expect(Self.standards.evaluate(one, policy: PodSecurityPolicy(level: .baseline)).map(\.text) == [
            "hostPort (container \"app\" uses hostPort 8080)"
        ])
        #expect(Self.violated(Self.pod(container: "    ports: [{containerPort: 80, hostPort: 0}]"), "baseline").isEmpty)
        #expect(Self.violated(Self.pod(container: "    ports: [{containerPort: 80}]"), "baseline").isEmpty)
    }

    @Test func hostProbesFromV1Dot34() {
        let pod = Self.pod(container: "    livenessProbe: {httpGet: {host: 10.0.0.1, port: 80}}")
        #expect(Self.violated(pod, "baseline:v1.33").isEmpty)
        #expect(Self.violated(pod, "baseline:v1.34") == ["hostProbesAndHostLifecycle"])
        let hook = Self.pod(container: "    lifecycle: {preStop: {tcpSocket: {host: node.local, port: 1}}}")
        #expect(Self.violated(hook, "baseline") == ["hostProbesAndHostLifecycle"])
        #expect(Self.violated(Self.pod(container: "    readinessProbe: {httpGet: {port: 80}}"), "baseline").isEmpty)
    }

    @Test func appArmorFieldAndAnnotation() {
        #expect(Self.violated(Self.pod(context: "      appArmorProfile: {type: Unconfined}"), "baseline") == ["appArmorProfile"])
        #expect(Self.violated(Self.pod(podContext: "    appArmorProfile: {type: Unconfined}"), "baseline") == ["appArmorProfile"])
        #expect(Self.violated(Self.pod(context: "      appArmorProfile: {type: RuntimeDefault}"), "baseline").isEmpty)
        #expect(
            Self.violated(Self.pod(context: "      appArmorProfile: {type: Localhost, localhostProfile: p}"), "baseline").isEmpty)
        let annotation = "  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: "
        #expect(Self.violated(Self.pod(metadata: annotation + "unconfined"), "baseline") == ["appArmorProfile"])
        #expect(Self.violated(Self.pod(metadata: annotation + "runtime/default"), "baseline").isEmpty)
        #expect(Self.violated(Self.pod(metadata: annotation + "localhost/my-profile"), "baseline").isEmpty)
    }

    @Test func seLinuxTypesUserAndRole() {
        #expect(Self.violated(Self.pod(context: "      seLinuxOptions: {type: spc_t}"), "baseline") == ["seLinuxOptions"])
        #expect(Self.violated(Self.pod(context: "      seLinuxOptions: {type: container_t, level: \"s0:c1,c2\"}"), "baseline").isEmpty)
        #expect(Self.violated(Self.pod(context: "      seLinuxOptions: {user: system_u}"), "baseline") == ["seLinuxOptions"])
        #expect(Self.violated(Self.pod(podContext: "    seLinuxOptions: {role: sysadm_r}"), "baseline") == ["seLinuxOptions"])
        let engine = Self.pod(context: "      seLinuxOptions: {type: container_engine_t}")
        #expect(Self.violated(engine, "baseline:v1.30") == ["seLinuxOptions"])
        #expect(Self.violated(engine, "baseline:v1.31").isEmpty)
    }

    @Test func procMountAndUserNamespaces() {
        let unmasked = Self.pod(context: "      procMount: Unmasked")
        #expect(Self.violated(unmasked, "baseline") == ["procMount"])
        #expect(Self.violated(Self.pod(context: "      procMount: Default"), "baseline").isEmpty)
        let userns = Self.pod(spec: "  hostUsers: false", context: "      procMount: Unmasked")
        #expect(Self.violated(userns, "baseline:v1.34") == ["procMount"])
        #expect(Self.violated(userns, "baseline:v1.35").isEmpty)
        // Restricted keeps the control for user-namespaced pods too.
        #expect(Self.violated(userns, "restricted:v1.35") == ["procMount_restricted"])
        #expect(Self.violated(Self.pod(spec: "  hostUsers: true", context: "      procMount: Unmasked"), "baseline:v1.35") == ["procMount"])
    }

    @Test func baselineSeccompOnlyForbidsUnconfined() {
        #expect(Self.violated(Self.pod(context: "      seccompProfile: {type: Unconfined}"), "baseline") == ["seccompProfile_baseline"])
        let unset = Self.input("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n")
        #expect(Self.violated(unset, "baseline").isEmpty)
        // Before v1.19 the annotations said it, and only they were checked.
        let annotated = Self.pod(metadata: "  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined")
        #expect(Self.violated(annotated, "baseline:v1.18") == ["seccompProfile_baseline"])
        #expect(Self.violated(annotated, "baseline:v1.19").isEmpty)
        let runtime = Self.pod(metadata: "  annotations:\n    container.seccomp.security.alpha.kubernetes.io/app: runtime/default")
        #expect(Self.violated(runtime, "baseline:v1.0").isEmpty)
    }

    @Test func sysctlsBySafeSetOfEachVersion() {
        func sysctl(_ name: String) -> PodSecurityInput {
            Self.pod(podContext: "    sysctls: [{name: \(name), value: \"1\"}]")
        }
        #expect(Self.violated(sysctl("kernel.msgmax"), "baseline") == ["sysctls"])
        #expect(Self.violated(sysctl("kernel.shm_rmid_forced"), "baseline:v1.0").isEmpty)
        #expect(Self.violated(sysctl("net.ipv4.ip_local_reserved_ports"), "baseline:v1.26") == ["sysctls"])
        #expect(Self.violated(sysctl("net.ipv4.ip_local_reserved_ports"), "baseline:v1.27").isEmpty)
        #expect(Self.violated(sysctl("net.ipv4.tcp_keepalive_time"), "baseline:v1.28") == ["sysctls"])
        #expect(Self.violated(sysctl("net.ipv4.tcp_keepalive_time"), "baseline:v1.29").isEmpty)
        #expect(Self.violated(sysctl("net.ipv4.tcp_rmem"), "baseline:v1.31") == ["sysctls"])
        #expect(Self.violated(sysctl("net.ipv4.tcp_rmem"), "baseline:v1.32").isEmpty)
    }

    @Test func windowsHostProcess() {
        #expect(Self.violated(Self.pod(context: "      windowsOptions: {hostProcess: true}"), "baseline") == ["windowsHostProcess"])
        #expect(Self.violated(Self.pod(context: "      windowsOptions: {hostProcess: false}"), "baseline").isEmpty)
    }

    // MARK: - Restricted

    @Test func volumeTypes() {
        for allowed in ["configMap: {name: c}", "emptyDir: {}", "secret: {secretName: s}", "persistentVolumeClaim: {claimName: c}", "projected: {sources: []}", "csi: {driver: d}", "ephemeral: {}", "downwardAPI: {}", "image: {reference: r}"] {
            #expect(Self.violated(Self.pod(spec: "  volumes:\n  - name: v\n    \(allowed)"), "restricted").isEmpty, "\(allowed)")
        }
        // A volume with no source is the emptyDir the API server defaults it to.
        #expect(Self.violated(Self.pod(spec: "  volumes:\n  - name: implicit"), "restricted").isEmpty)
        let nfs = Self.pod(spec: "  volumes:\n  - name: v\n    nfs: {server: s, path: /}")
        #expect(Self.violated(nfs, "restricted:v1.0") == ["restrictedVolumes"])
        #expect(Self.violated(nfs, "baseline").isEmpty)
    }

    @Test func privilegeEscalation() {
        let unset = Self.input(Self.restrictedPod.replacingOccurrences(of: "      allowPrivilegeEscalation: false\n", with: ""))
        #expect(Self.violated(unset, "restricted:v1.7").isEmpty)
        #expect(Self.violated(unset, "restricted:v1.8") == ["allowPrivilegeEscalation"])
        let windows = Self.input(
            Self.restrictedPod.replacingOccurrences(of: "      allowPrivilegeEscalation: false\n", with: "")
                .replacingOccurrences(of: "  containers:", with: "  os: {name: windows}\n  containers:"))
        #expect(Self.violated(windows, "restricted:v1.24") == ["allowPrivilegeEscalation"])
        #expect(Self.violated(windows, "restricted:v1.25").isEmpty)
        let escalates = Self.input(Self.restrictedPod.replacingOccurrences(of: "allowPrivilegeEscalation: false", with: "allowPrivilegeEscalation: true"))
        #expect(Self.violated(escalates, "restricted") == ["allowPrivilegeEscalation"])
    }

    @Test func runAsNonRootPodAndContainer() throws {
        // The pod's true covers containers that set nothing; a container's false fails anyway.
        #expect(Self.violated(Self.pod(context: "      runAsNonRoot: false"), "restricted") == ["runAsNonRoot"])
        let podUnset = Self.input(Self.restrictedPod.replacingOccurrences(of: "    runAsNonRoot: true\n", with: ""))
        let violation = try #require(Self.standards.evaluate(podUnset, policy: PodSecurityPolicy(level: .restricted)).first)
        #expect(violation.text == "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)")
        let containerSets = Self.input(
            Self.restrictedPod.replacingOccurrences(of: "    runAsNonRoot: true\n", with: "")
                .replacingOccurrences(of: "      allowPrivilegeEscalation: false", with: "      allowPrivilegeEscalation: false\n      runAsNonRoot: true"))
        #expect(Self.violated(containerSets, "restricted").isEmpty)
        // A user namespace makes UID 0 inside an unprivileged host UID: relaxed from v1.35.
        let userns = Self.input(
            Self.restrictedPod.replacingOccurrences(of: "    runAsNonRoot: true\n", with: "")
                .replacingOccurrences(of: "  containers:", with: "  hostUsers: false\n  containers:"))
        #expect(Self.violated(userns, "restricted:v1.34") == ["runAsNonRoot"])
        #expect(Self.violated(userns, "restricted:v1.35").isEmpty)
    }

    @Test func runAsUserZeroFromV1Dot23() {
        let root = Self.pod(context: "      runAsUser: 0")
        #expect(Self.violated(root, "restricted:v1.22").isEmpty)
        #expect(Self.violated(root, "restricted:v1.23") == ["runAsUser"])
        #expect(Self.violated(Self.pod(context: "      runAsUser: 1000"), "restricted").isEmpty)
        #expect(Self.violated(Self.pod(spec: "  hostUsers: false", context: "      runAsUser: 0"), "restricted:v1.35").isEmpty)
    }

    @Test func restrictedSeccomp() {
        let unset = Self.input(Self.restrictedPod.replacingOccurrences(of: "    seccompProfile: {type: RuntimeDefault}\n", with: ""))
        #expect(Self.violated(unset, "restricted:v1.18").isEmpty)
        #expect(Self.violated(unset, "restricted:v1.19") == ["seccompProfile_restricted"])
        // The pod's Unconfined fails even when the container sets RuntimeDefault.
        let podUnconfined = Self.input(
            Self.restrictedPod.replacingOccurrences(of: "    seccompProfile: {type: RuntimeDefault}", with: "    seccompProfile: {type: Unconfined}")
                .replacingOccurrences(of: "      allowPrivilegeEscalation: false", with: "      allowPrivilegeEscalation: false\n      seccompProfile: {type: RuntimeDefault}"))
        #expect(Self.violated(podUnconfined, "restricted") == ["seccompProfile_restricted"])
        #expect(Self.violated(podUnconfined, "baseline") == ["seccompProfile_baseline"])
        #expect(Self.violated(Self.pod(context: "      seccompProfile: {type: Localhost, localhostProfile: p.json}"), "restricted").isEmpty)
    }

    @Test func restrictedCapabilities() throws {
        let noDrop = Self.input(Self.restrictedPod.replacingOccurrences(of: "\n      capabilities: {drop: [ALL]}", with: ""))
        #expect(Self.violated(noDrop, "restricted:v1.21").isEmpty)
        #expect(Self.violated(noDrop, "restricted:v1.22") == ["capabilities_restricted"])
        let chown = Self.input(Self.restrictedPod.replacingOccurrences(of: "{drop: [ALL]}", with: "{drop: [ALL], add: [CHOWN]}"))
        // Below v1.22 restricted applies baseline's list, which allows CHOWN.
        #expect(Self.violated(chown, "restricted:v1.21").isEmpty)
        let violation = try #require(Self.standards.evaluate(chown, policy: PodSecurityPolicy(level: .restricted)).first)
        #expect(violation.text == "unrestricted capabilities (container \"app\" must not include \"CHOWN\" in securityContext.capabilities.add)")
        let bind = Self.input(Self.restrictedPod.replacingOccurrences(of: "{drop: [ALL]}", with: "{drop: [ALL], add: [NET_BIND_SERVICE]}"))
        #expect(Self.violated(bind, "restricted").isEmpty)
        let lower = Self.input(Self.restrictedPod.replacingOccurrences(of: "{drop: [ALL]}", with: "{drop: [all]}"))
        #expect(Self.violated(lower, "restricted") == ["capabilities_restricted"])
    }

    // MARK: - Findings, settings and the file

    @Test func findingsNameTheirLevelControlAndContainers() {
        let pod = Self.input("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              hostPID: true
              containers:
              - name: a
                image: x
              - name: b
                image: x
                securityContext: {privileged: true}
            """)
        let judged = Self.standards.judge(
            [PodSecuritySubject(input: pod, file: "pod.yaml", containers: [("a", "w-a"), ("b", "w-b")])], version: .latest)
        let hostPID = judged.findings.filter { $0.rule == "pss-baseline-host-namespaces" }
        #expect(Set(hostPID.map(\.workload)) == ["w-a", "w-b"])
        let privileged = judged.findings.filter { $0.rule == "pss-baseline-privileged-containers" }
        #expect(privileged.map(\.workload) == ["w-b"])
        #expect(privileged.first?.severity == .high)
        #expect(privileged.first?.references.first?.id == "baseline/Privileged Containers")
        #expect(privileged.first?.location?.line == 11)
        #expect(privileged.first?.message.hasPrefix("violates PodSecurity \"baseline:v1.35\": privileged") == true)
        #expect(judged.verdicts["w-a"] == PodSecurityVerdict(level: "privileged", version: "v1.35"))
        #expect(judged.findings.filter { $0.rule.hasPrefix("pss-restricted-") }.allSatisfy { $0.severity == .medium })
    }

    @Test func settingsAndPolicies() {
        #expect(PodSecuritySetting(flag: "none") == PodSecuritySetting.none)
        #expect(PodSecuritySetting(flag: "restricted:v1.25")?.enforce == .restricted)
        #expect(PodSecuritySetting(flag: "restricted:v1.25")?.version.minor == 25)
        #expect(PodSecuritySetting(flag: "baseline")?.enforces(rule: "pss-baseline-sysctls") == true)
        #expect(PodSecuritySetting(flag: "baseline")?.enforces(rule: "pss-restricted-seccomp") == false)
        #expect(PodSecuritySetting(flag: "restricted")?.enforces(rule: "pss-restricted-seccomp") == true)
        #expect(PodSecuritySetting(flag: "restricted")?.enforces(rule: "ct-privileged") == false)
        for bad in ["", "strict", "baseline:", "baseline:1", "baseline:v2.1", "baseline:v1.x", "Baseline"] {
            #expect(PodSecuritySetting(flag: bad) == nil, "\(bad)")
        }
        #expect(PodSecurityPolicy("baseline:latest")?.description == "baseline:latest")
        #expect(PodSecurityPolicy("restricted:1.30")?.description == "restricted:v1.30")
    }

    @Test func aBadStandardFileNamesItsLine() {
        let text = """
            version: 1
            newest: v1.35
            checks:
              - id: x
                control: X
                level: baseline
                reason: x
                versions:
                  - since: v1.0
                    test: noSuchTest
            """
        #expect(throws: InputFileErrors.self) { try PodSecurityStandards.parse(yaml: text, file: "pss.yaml") }
        do {
            _ = try PodSecurityStandards.parse(yaml: text, file: "pss.yaml")
        } catch let error as InputFileErrors {
            #expect(error.errors.first?.line == 9)
            #expect(error.errors.first?.message.contains("test") == true)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}


@Suite("evidence said by what matters")
struct EvidenceSummaryTests {
    @Test func capabilitySets() {
        #expect(CapabilityNames.summary(CapabilityNames.all) == "all 41 capabilities")
        #expect(CapabilityNames.summary([]) == "none")
        #expect(CapabilityNames.summary(CapabilityNames.containerDefault) == "the container default set")
        #expect(
            CapabilityNames.summary(CapabilityNames.containerDefault + ["CAP_SYS_ADMIN"])
                == "the container default set + CAP_SYS_ADMIN")
        // Podman's default lacks three of containerd's; with --cap-add SYS_ADMIN the addition is named.
        let podman = CapabilityNames.containerDefault.filter { !["CAP_MKNOD", "CAP_NET_RAW", "CAP_AUDIT_WRITE"].contains($0) }
        #expect(
            CapabilityNames.summary(podman + ["CAP_SYS_ADMIN"])
                == "the container default set − CAP_NET_RAW, CAP_MKNOD, CAP_AUDIT_WRITE + CAP_SYS_ADMIN")
        #expect(CapabilityNames.summary(["CAP_NET_BIND_SERVICE"]) == "CAP_NET_BIND_SERVICE")
        #expect(CapabilityNames.list((1...12).map(String.init), limit: 10) == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more")
    }
}

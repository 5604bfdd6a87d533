import CloisterLaunch
import CloisterModel
import CloisterOCI
import CloisterSeccomp
import Testing

@Suite("launch plan, seccomp compilation and verification (no launch)")
struct LaunchPlanTests {
    @Test("the built-in seccomp profile compiles to whole BPF instructions")
    func builtInCompiles() throws {
        let filter = try SeccompFilter.compile(.builtInDefault)
        #expect(filter.program.count > 0)
        #expect(filter.program.count % 8 == 0)  // struct sock_filter is 8 bytes
    }

    @Test("an unknown action or operator is refused with its name")
    func badProfile() {
        let action = LinuxSeccomp(defaultAction: "SCMP_ACT_NOPE", syscalls: [])
        #expect(throws: SeccompError.self) { try SeccompFilter.compile(action) }
        let argument = LinuxSeccomp.Argument(index: 0, value: 1, op: "SCMP_CMP_WHAT")
        let rule = LinuxSeccomp.Syscall(names: ["read"], action: "SCMP_ACT_ERRNO", args: [argument])
        var profile = LinuxSeccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [rule])
        do {
            _ = try SeccompFilter.compile(profile)
            Issue.record("an unknown operator compiled")
        } catch {
            #expect("\(error)".contains("SCMP_CMP_WHAT"))
        }
        profile.syscalls = [LinuxSeccomp.Syscall(names: ["no_such_call"], action: "SCMP_ACT_ERRNO")]
        #expect((try? SeccompFilter.compile(profile))?.unknownSyscalls == ["no_such_call"])
    }

    @Test("fail closed at plan time: strict seccomp, a time namespace, no command, an unknown capability")
    func planRefuses() {
        var target = LaunchPlan.defaultTarget(command: ["/bin/true"])
        target.cgroup = nil
        var strict = target
        strict.seccomp = Seccomp(mode: .strict)
        var time = target
        time.namespaces.time = .private
        var capability = target
        capability.capabilities.bounding = ["CAP_NOT_A_THING"]
        for (posture, control) in [(strict, "seccomp"), (time, "time"), (capability, "CAP_NOT_A_THING")] {
            do {
                _ = try LaunchPlan.make(target: posture, options: LaunchOptions(command: ["/bin/true"]))
                Issue.record("planned a launch that cannot be applied (\(control))")
            } catch let error as LaunchError {
                #expect(error.control.contains(control), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(throws: LaunchError.self) {
            _ = try LaunchPlan.make(target: target, options: LaunchOptions(command: []))
        }
    }

    @Test("verification reports each field that differs from the plan")
    func drift() throws {
        var target = LaunchPlan.defaultTarget(command: ["/bin/true"])
        target.cgroup = nil
        var options = LaunchOptions(command: ["/bin/true"])
        options.landlock = false
        let plan = try LaunchPlan.make(target: target, options: options)
        var observed = Posture(id: "cloister:pid-1", kind: .sandbox, runtime: "cloister", name: "true")
        for type in plan.namespaces { observed.namespaces[type] = .private }
        observed.user = plan.target.user
        observed.user.rootMappedToHost = false
        observed.seccomp = Seccomp(mode: .filter)
        observed.noNewPrivileges = true
        observed.readOnlyRootfs = true
        #expect(Verification.compare(plan: plan, observed: observed).isEmpty)
        observed.namespaces.net = .host
        observed.capabilities.bounding = ["CAP_SYS_ADMIN"]
        observed.noNewPrivileges = false
        let fields = Verification.compare(plan: plan, observed: observed).map(\.field)
        #expect(fields == ["namespaces.net", "capabilities.bounding", "noNewPrivileges"])
    }

    @Test("verification holds the MAC labels asked for to the labels the kernel shows")
    func macDrift() throws {
        var target = LaunchPlan.defaultTarget(command: ["/bin/true"])
        target.cgroup = nil
        var options = LaunchOptions(command: ["/bin/true"])
        options.landlock = false
        // Set after planning: this host runs neither LSM, so make() would refuse the labels.
        var plan = try LaunchPlan.make(target: target, options: options)
        plan.apparmorProfile = "cloister_web"
        plan.selinuxLabel = "system_u:system_r:cloister_web_t:s0"
        var observed = Posture(id: "cloister:pid-1", kind: .sandbox, runtime: "cloister", name: "true")
        for type in plan.namespaces { observed.namespaces[type] = .private }
        observed.user = plan.target.user
        observed.user.rootMappedToHost = false
        observed.seccomp = Seccomp(mode: .filter)
        observed.noNewPrivileges = true
        observed.readOnlyRootfs = true
        #expect(Verification.compare(plan: plan, observed: observed).map(\.field) == ["mac.apparmor", "mac.selinux"])
        observed.mac.apparmor = AppArmorLabel(profile: "cloister_web", mode: "enforce")
        observed.mac.selinux = SELinuxLabel(context: "system_u:system_r:cloister_web_t:s0", user: "system_u",
                                            role: "system_r", type: "cloister_web_t", level: "s0")
        #expect(Verification.compare(plan: plan, observed: observed).isEmpty)
        // Loaded in complain mode, the profile only logs: not what was asked for.
        observed.mac.apparmor = AppArmorLabel(profile: "cloister_web", mode: "complain")
        let drift = Verification.compare(plan: plan, observed: observed).map(\.description)
        #expect(drift == ["mac.apparmor: expected cloister_web (enforce), observed cloister_web (complain)"])
    }
}

import CloisterModel
import Foundation
import Testing

/// A live container and the config.json that started it yield the same findings on the fields
/// both carry: `cloister check config.json` and `cloister scan --pid N`, each through the real
/// executable and its JSON contract.
///
/// Compared: the rules that read only capabilities, seccomp mode, no_new_privs, namespaces,
/// the user mapping and the read-only root, which a config declares exactly as the kernel shows
/// them (`compared` below). Not compared, and why:
/// - `ct-no-mac`: the LSMs are the host's (a config without `apparmorProfile` is unconfined on an
///   AppArmor host and has no label at all elsewhere);
/// - `ct-no-memory-limit`, `ct-no-pids-limit`, `esc-cgroup-release-agent`: cgroup limits and the
///   cgroup version are read from the host's hierarchy (hybrid here) against a declared `max`;
/// - `ct-devices-exposed`, `esc-*-device`, mount rules, `esc-proc-sys-writable`: the scanner sees
///   every node in the rootfs's /dev and resolves bind sources to host paths, the config lists
///   what it adds;
/// - `esc-runc-exposure`: a config's runtime is `oci`, the scan's `runc`.
@Suite("a runc container and its config.json: the same findings", .serialized, .needsRunc)
struct LiveDeclaredTests {
    static let compared: Set<String> = [
        "ct-privileged", "ct-cap-added", "ct-seccomp-unconfined", "ct-host-pid", "ct-host-network", "ct-host-ipc",
        "ct-host-uts", "ct-writable-rootfs", "ct-no-new-privs-unset", "ct-root-no-userns", "esc-cap-sys-module",
        "esc-cap-net-raw", "esc-namespace-creation", "esc-io-uring",
    ]

    struct Variant: Sendable, CustomTestStringConvertible {
        var label: String
        /// Rules of `compared` this variant must make fire (so the comparison is not vacuous).
        var expected: Set<String>
        var configure: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { label }
    }

    static func editProcess(_ config: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var process = config["process"] as? [String: Any] ?? [:]
        edit(&process)
        config["process"] = process
    }

    static func editLinux(_ config: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var linux = config["linux"] as? [String: Any] ?? [:]
        edit(&linux)
        config["linux"] = linux
    }

    static func capabilities(_ names: [String]) -> [String: Any] {
        ["bounding": names, "effective": names, "permitted": names, "inheritable": [String](), "ambient": [String]()]
    }

    static let variants: [Variant] = [
        Variant(label: "runc spec defaults (3 capabilities, no seccomp, no_new_privs, read-only root)",
                expected: ["ct-seccomp-unconfined", "ct-root-no-userns", "esc-namespace-creation", "esc-io-uring"]) { _ in },
        Variant(label: "capabilities added, no_new_privs off, writable root",
                expected: ["ct-cap-added", "ct-no-new-privs-unset", "ct-writable-rootfs", "esc-cap-sys-module", "esc-cap-net-raw"]) { config in
            editProcess(&config) { process in
                process["capabilities"] = capabilities(["CAP_NET_RAW", "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_KILL"])
                process["noNewPrivileges"] = false
            }
            var root = config["root"] as? [String: Any] ?? [:]
            root["readonly"] = false
            config["root"] = root
        },
        Variant(label: "hardened: seccomp filter, no capabilities, no_new_privs, read-only root",
                expected: ["ct-root-no-userns"]) { config in
            editProcess(&config) { process in
                process["capabilities"] = capabilities([])
                process["noNewPrivileges"] = true
            }
            editLinux(&config) { linux in
                linux["seccomp"] = [
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [["names": ["kexec_load", "init_module", "finit_module"], "action": "SCMP_ACT_ERRNO"]],
                ]
            }
        },
        Variant(label: "host network, IPC and UTS namespaces",
                expected: ["ct-host-network", "ct-host-ipc", "ct-host-uts"]) { config in
            editLinux(&config) { linux in
                let namespaces = linux["namespaces"] as? [[String: Any]] ?? []
                linux["namespaces"] = namespaces.filter { !["network", "ipc", "uts"].contains($0["type"] as? String ?? "") }
            }
            // A hostname needs a private UTS namespace.
            config.removeValue(forKey: "hostname")
        },
    ]

    @Test("check config.json and scan --pid agree on the compared rules", arguments: variants)
    func sameFindings(_ variant: Variant) throws {
        let container = try RuncContainer.run("live-declared") { config in
            // runc spec's NOFILE limit, stated: raising a hard limit needs CAP_SYS_RESOURCE here.
            Self.editProcess(&config) { process in
                process["rlimits"] = [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]]
            }
            variant.configure(&config)
        }
        defer { container.stop() }
        let configPath = container.bundle.appendingPathComponent("config.json").path

        let (declared, status, stderr) = try Cloister.check([configPath])
        #expect(status == 0, "\(stderr)")
        let live = try Cloister.scan(pid: container.pid)
        let posture = try #require(live.workloads.first)
        #expect(live.workloads.count == 1)

        let declaredRules = Set(declared.findings.map(\.rule)).intersection(Self.compared)
        let liveRules = Set(live.findings.filter { $0.workload == posture.id }.map(\.rule)).intersection(Self.compared)
        #expect(declaredRules == liveRules,
                "only declared: \(declaredRules.subtracting(liveRules).sorted()); only live: \(liveRules.subtracting(declaredRules).sorted())")
        #expect(variant.expected.isSubset(of: declaredRules), "expected \(variant.expected.sorted()), got \(declaredRules.sorted())")
        // No compared rule may be left undecided on either side: that would make agreement hollow.
        for issue in declared.issues + live.issues {
            for rule in Self.compared {
                #expect(!issue.message.contains("rule \(rule) was not decided"), "\(issue.message)")
            }
        }
    }
}

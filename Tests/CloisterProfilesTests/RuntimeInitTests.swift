import CloisterOCI
import CloisterResourceFiles
import Foundation
import Testing

@testable import CloisterProfiles

let runtimeInitURL = groupsURL.deletingLastPathComponent().appendingPathComponent("runtime-init.yaml")

func shippedRuntimeInit() throws -> RuntimeInit { try RuntimeInit.load(contentsOf: runtimeInitURL) }

@Suite struct RuntimeInitTests {
    @Test func shippedFileLoadsAndEveryEntryCitesItsSource() throws {
        let data = try shippedRuntimeInit()
        #expect(data.version == 1)
        #expect(Set(data.runtimes.keys).isSuperset(of: ["runc", "crun"]))
        for (name, runtime) in data.runtimes {
            #expect(!runtime.versions.isEmpty, "\(name) has no entry")
            for entry in runtime.versions {
                #expect(!entry.source.isEmpty && !entry.syscalls.isEmpty, "\(name) \(entry.versions)")
                // Every runtime loads the filter before it execs: execve (or fexecve) is always there.
                #expect(entry.syscalls.contains("execve"), "\(name) \(entry.versions) has no execve")
            }
        }
        // Debian 12's runc 1.1 drops to the container user with setuid/setgid after loading.
        let runc11 = try #require(data.runtimes["runc"]?.versions.first { $0.versions.contains("1.1") })
        #expect(runc11.measured != nil)
        #expect(Set(runc11.syscalls).isSuperset(of: ["setuid", "setgid", "setgroups", "capset"]))
    }

    /// A runtime call in a denied group would be subtracted again by the generator and the
    /// container would not start: the two files must not overlap.
    @Test func noRuntimeCallIsInADeniedGroup() throws {
        let data = try shippedRuntimeInit()
        let denied = Set(try shippedGroups().denied.values.flatMap(\.syscalls))
        let all = data.runtimes.values.flatMap { $0.versions.flatMap(\.syscalls) } + data.goRuntime.syscalls
        #expect(denied.isDisjoint(with: all), "\(denied.intersection(all))")
    }

    @Test func selectionsResolveRuntimesVersionsAndEngines() throws {
        let data = try shippedRuntimeInit()
        #expect(try data.selections(for: "runc") == [RuntimeInit.Selection(runtime: "runc")])
        #expect(try data.selections(for: "runc:1.1.5") == [RuntimeInit.Selection(runtime: "runc", version: "1.1.5")])
        #expect(try data.selections(for: "docker") == [RuntimeInit.Selection(runtime: "runc")])
        #expect(try data.selections(for: "podman").map(\.runtime) == ["crun", "runc"])
        #expect(throws: ProfileInputError.self) { try data.selections(for: "kata-nonsense") }
        #expect(throws: ProfileInputError.self) { try data.selections(for: "runc:latest") }
        #expect(throws: ProfileInputError.self) { try data.selections(for: "docker:20.10") }

        let v11 = data.syscalls(for: [RuntimeInit.Selection(runtime: "runc", version: "1.1.5+ds1")])
        let v12 = data.syscalls(for: [RuntimeInit.Selection(runtime: "runc", version: "1.2.4")])
        #expect(v11.unmatched.isEmpty && v12.unmatched.isEmpty)
        #expect(!v11.syscalls.contains("close_range") && v12.syscalls.contains("close_range"))
        // Go runtime calls come with runc, not with crun.
        #expect(v11.syscalls.contains("tgkill"))
        #expect(!data.syscalls(for: [RuntimeInit.Selection(runtime: "crun")]).syscalls.contains("tgkill"))
        // A version before any entry falls back to every entry, and says so.
        let old = data.syscalls(for: [RuntimeInit.Selection(runtime: "runc", version: "0.9")])
        #expect(old.unmatched.count == 1 && old.syscalls.isSuperset(of: v12.syscalls))
    }

    @Test func badFilesAreRefusedWithTheirReason() {
        let base = "source: x\ngoRuntime: {source: x, syscalls: []}\n"
        #expect(throws: ProfileInputError.self) {
            try RuntimeInit.parse(yaml: "version: 2\n" + base + "runtimes: {}\nengines: {}\n")
        }
        #expect(throws: ProfileInputError.self) {
            try RuntimeInit.parse(yaml: "version: 1\n" + base
                + "runtimes: {runc: {goRuntime: true, versions: [{versions: 'one point one', source: x, syscalls: [execve]}]}}\nengines: {}\n")
        }
        #expect(throws: ProfileInputError.self) {
            try RuntimeInit.parse(yaml: "version: 1\n" + base + "runtimes: {}\nengines: {docker: [runc]}\n")
        }
    }

    @Test func generatedProfileCarriesTheRuntimeCallsAndNamesTheRuntimes() throws {
        let data = try shippedRuntimeInit()
        let calls = data.syscalls(for: [RuntimeInit.Selection(runtime: "runc")]).syscalls
        let learned = LearnedRecord(commands: [["t"]], recordings: 1, architectures: ["x86_64": ["write": .init(count: 1)]])
        let profile = try SeccompGenerator.profile(
            for: SeccompNeeds(learned: learned, runtimeInit: calls, runtimeInitFor: ["runc"], generatedFrom: "test"),
            groups: try shippedGroups())
        #expect(profile.allowedNames.isSuperset(of: ["setuid", "setgid", "capset", "write", "execve"]))
        #expect(profile.comment?.hasSuffix("starts under runc") == true)
        // clone from the Go runtime stays argument-filtered: no namespace flags.
        let clone = try #require(profile.syscalls?.first { $0.names == ["clone"] })
        #expect(clone.args?.first?.op == "SCMP_CMP_MASKED_EQ")
    }
}

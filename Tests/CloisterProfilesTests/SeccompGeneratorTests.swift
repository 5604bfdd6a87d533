import CloisterOCI
import CloisterResourceFiles
import Foundation
import Testing

@testable import CloisterProfiles

/// The shipped groups file, read from the repository (the tests run from any scratch path).
let groupsURL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("policies/syscall-groups.yaml")

func shippedGroups() throws -> SyscallGroups { try SyscallGroups.load(contentsOf: groupsURL) }

@Suite struct SyscallGroupTests {
    @Test func shippedFileLoadsAndEveryGroupCitesASource() throws {
        let groups = try shippedGroups()
        #expect(groups.version == 1)
        for (name, group) in groups.groups.merging(groups.denied, uniquingKeysWith: { a, _ in a }) {
            #expect(!group.source.isEmpty, "group \(name) cites no source")
            #expect(!group.syscalls.isEmpty, "group \(name) is empty")
        }
    }

    @Test func newerVersionIsRefused() {
        #expect(throws: ProfileInputError.self) {
            try SyscallGroups.parse(yaml: "version: 2\nsource: x\ngroups: {}\ndenied: {}\nenosys: []\npersonality: []\ncloneNamespaceFlags: 0\nsocketFamilies: {}\n")
        }
    }

    @Test func noAllowedGroupHoldsADeniedCall() throws {
        let groups = try shippedGroups()
        let denied = Set(groups.denied.values.flatMap(\.syscalls))
        for (name, group) in groups.groups {
            #expect(denied.isDisjoint(with: group.syscalls), "group \(name) allows \(denied.intersection(group.syscalls))")
        }
    }
}

@Suite struct SeccompGeneratorTests {
    func profile(_ needs: SeccompNeeds) throws -> LinuxSeccomp {
        try SeccompGenerator.profile(for: needs, groups: try shippedGroups())
    }

    @Test func defaultsDenyWithEPERMAndBlockSecondaryArchitectures() throws {
        let result = try profile(SeccompNeeds(generatedFrom: "test"))
        #expect(result.defaultAction == "SCMP_ACT_ERRNO")
        #expect(result.defaultErrnoRet == 1)
        #expect(result.architectures == ["SCMP_ARCH_X86_64"])
        #expect(result.comment?.contains("test") == true)
    }

    @Test func dangerousCallsAreDeniedUnlessNeeded() throws {
        let result = try profile(SeccompNeeds(generatedFrom: "test"))
        for name in ["io_uring_setup", "io_uring_enter", "bpf", "userfaultfd", "keyctl", "perf_event_open", "unshare", "setns", "mount", "ptrace"] {
            #expect(!result.allowedNames.contains(name), "\(name) allowed")
        }
        let relaxed = try profile(SeccompNeeds(deniedGroupsAllowed: ["io-uring", "namespaces"], generatedFrom: "test"))
        #expect(relaxed.allowedNames.isSuperset(of: ["io_uring_setup", "unshare", "setns"]))
        #expect((relaxed.syscalls ?? []).contains { $0.names == ["clone"] && $0.args == nil })
    }

    @Test func exitIsAlwaysAllowedEvenFromAnEmptyRecording() throws {
        let result = try profile(SeccompNeeds(learned: LearnedRecord(), generatedFrom: "empty"))
        #expect(result.allowedNames == SeccompGenerator.alwaysAllowed)
    }

    @Test func cloneIsFilteredOnNamespaceFlagsAndClone3ReturnsENOSYS() throws {
        let result = try profile(SeccompNeeds(generatedFrom: "test"))
        let clone = try #require((result.syscalls ?? []).first { $0.names == ["clone"] })
        #expect(clone.args == [LinuxSeccomp.Argument(index: 0, value: 0x7E02_0000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")])
        let enosys = try #require((result.syscalls ?? []).first { $0.action == "SCMP_ACT_ERRNO" })
        #expect(enosys.errnoRet == 38)
        #expect(enosys.names.contains("clone3"))
        #expect(!result.allowedNames.contains("clone3"))
    }

    @Test func socketFamiliesAndPersonalityAreArgumentFiltered() throws {
        let result = try profile(SeccompNeeds(socketFamilies: ["unix", "inet"], generatedFrom: "test"))
        let families = (result.syscalls ?? []).filter { $0.names == ["socket"] }.compactMap { $0.args?.first?.value }
        #expect(families == [1, 2])
        let personalities = (result.syscalls ?? []).filter { $0.names == ["personality"] }.compactMap { $0.args?.first?.value }
        #expect(personalities == [0, 8, 131072, 131080, 4294967295])
    }

    @Test func learnedRecordGivesTheTightestAllowlist() throws {
        var record = LearnedRecord(commands: [["true"]], recordings: 1)
        for name in ["execve", "brk", "mmap", "read", "close"] { record.note(architecture: "x86_64", syscall: name, arguments: []) }
        record.note(architecture: "x86_64", syscall: "socket", arguments: [10, 1, 0])
        record.note(architecture: "x86_64", syscall: "io_uring_setup", arguments: [])
        let result = try profile(SeccompNeeds(learned: record, generatedFrom: "record"))
        #expect(result.allowedNames == SeccompGenerator.alwaysAllowed.union(["execve", "brk", "mmap", "read", "close", "socket"]))
        #expect((result.syscalls ?? []).filter { $0.names == ["socket"] }.compactMap { $0.args?.first?.value } == [10])
    }

    @Test func aRecordedWaitBringsTheSuspendThatTimingMightHaveChosen() throws {
        var record = LearnedRecord(commands: [["sh"]], recordings: 1)
        record.note(architecture: "x86_64", syscall: "wait4", arguments: [])
        let result = try profile(SeccompNeeds(learned: record, generatedFrom: "r"))
        #expect(result.allowedNames.contains("rt_sigsuspend"))
    }

    @Test func recordingsMerge() {
        var first = LearnedRecord(commands: [["a"]], recordings: 1)
        first.note(architecture: "x86_64", syscall: "socket", arguments: [2])
        var second = LearnedRecord(commands: [["b"]], recordings: 1)
        second.note(architecture: "x86_64", syscall: "socket", arguments: [10])
        second.note(architecture: "x86_64", syscall: "read", arguments: [])
        let merged = first.merged(with: second)
        #expect(merged.recordings == 2)
        #expect(merged.commands == [["a"], ["b"]])
        #expect(merged.architectures["x86_64"]?["socket"] == LearnedRecord.Syscall(count: 2, arguments: ["0": [2, 10]]))
        #expect(merged.architectures["x86_64"]?["read"]?.count == 1)
    }

    @Test func profileIsDeterministicJSON() throws {
        let needs = SeccompNeeds(generatedFrom: "test")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(profile(needs)) == encoder.encode(profile(needs)))
    }
}

@Suite struct LearnedClone3Tests {
    @Test func recordedClone3StillAnswersENOSYSWithoutTheNamespacesGroup() throws {
        var record = LearnedRecord(commands: [["python3"]], recordings: 1)
        record.note(architecture: "x86_64", syscall: "clone3", arguments: [])
        let result = try SeccompGenerator.profile(for: SeccompNeeds(learned: record, generatedFrom: "r"), groups: try shippedGroups())
        #expect(!result.allowedNames.contains("clone3"))
        #expect((result.syscalls ?? []).contains { $0.action == "SCMP_ACT_ERRNO" && $0.names.contains("clone3") })
    }
}

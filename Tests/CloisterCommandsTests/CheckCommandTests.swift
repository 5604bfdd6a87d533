import ArgumentParser
import Testing

@testable import CloisterCommands

@Suite("cloister check arguments")
struct CheckCommandTests {
    @Test func qemuAfterDoubleDash() throws {
        let command = try CheckCommand.parse(["a.yaml", "dir", "--format", "sarif", "--qemu", "--", "qemu-system-x86_64", "-vnc", ":0", "-m", "1"])
        #expect(command.paths == ["a.yaml", "dir"])
        #expect(command.assessment.format == .sarif)
        #expect(command.qemuArguments == ["qemu-system-x86_64", "-vnc", ":0", "-m", "1"])
    }

    @Test func qemuWithoutDoubleDash() throws {
        let command = try CheckCommand.parse(["--qemu", "qemu-system-x86_64", "-enable-kvm"])
        #expect(command.paths.isEmpty)
        #expect(command.qemuArguments == ["qemu-system-x86_64", "-enable-kvm"])
    }

    @Test func nothingToCheckIsAUsageError() {
        #expect(throws: (any Error).self) { try CheckCommand.parse([]) }
        #expect(throws: (any Error).self) { try CheckCommand.parse(["--qemu", "--"]) }
    }
}

import ArgumentParser
import CloisterProfiles
import CloisterSeccomp
import Foundation

/// `cloister learn -- CMD`: run CMD and record every syscall it and its children make.
public struct LearnCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Run a command and record the syscalls it and its children make, for 'cloister profile --learned'.",
        discussion: """
            Recording uses seccomp user notification (Linux 5.9+): every call stops until cloister \
            notes it and lets it continue, so no ptrace. --merge adds to an existing record. Exit \
            status: the command's own.
            """)

    @Option(name: [.short, .long], help: "The record to write (atomically).")
    public var output: String

    @Flag(help: "Merge into the record already at --output instead of replacing it.")
    public var merge = false

    @Argument(parsing: .postTerminator, help: "The command to run.")
    public var command: [String] = []

    public init() {}

    public func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --: cloister learn -o rec.json -- CMD [ARGS]") }
    }

    public func run() async throws {
        var previous: LearnedRecord?
        if merge, FileManager.default.fileExists(atPath: output) {
            previous = try LearnedRecord.decode(try ProfileInputError.contents(of: output), file: output)
        }
        let recording = try SyscallRecorder.record(command)
        let record = previous.map { $0.merged(with: recording.record) } ?? recording.record
        try OutputFile.write(try ProfileCommand.prettyJSON(record), to: output)
        let calls = recording.record.architectures.values.reduce(0) { $0 + $1.count }
        writeStandardError("cloister learn: \(calls) distinct syscalls recorded, command exited \(recording.status)\n")
        if recording.status != 0 { throw ExitCode(recording.status) }
    }
}

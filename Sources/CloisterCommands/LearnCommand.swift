import ArgumentParser
import CloisterCodec
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

    @Option(help: "Summary format: text (a sentence on standard error), or json (schema cloister.learn-summary/v1: one line on standard output once the command has exited; the command's own output goes where it would).")
    var format: TextOrJSON = .text

    @Argument(parsing: .postTerminator, help: "The command to run.")
    public var command: [String] = []

    /// The `--format json` summary's shape and version.
    static let summarySchema = "cloister.learn-summary/v1"

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
        if format == .json {
            // One compact line, so a script finds it after whatever the command printed.
            let summary: JSONValue = .object([
                "schema": .string(Self.summarySchema),
                "output": .string(output),
                "merged": .bool(previous != nil),
                "command": .array(command.map { .string($0) }),
                "exitStatus": .number(Double(recording.status)),
                "distinctSyscalls": .number(Double(calls)),
                // This run's syscalls by architecture; `recordSyscalls` counts the written record's
                // (with --merge, the earlier runs' too).
                "syscalls": .object(JSONObject(recording.record.architectures.mapValues { calls in
                    .array(calls.keys.sorted().map { .string($0) })
                })),
                "recordSyscalls": .number(Double(record.architectures.values.reduce(0) { $0 + $1.count })),
            ])
            FileHandle.standardOutput.write(Data((summary.serialized() + "\n").utf8))
        } else {
            writeStandardError("cloister learn: \(calls) distinct syscalls recorded, command exited \(recording.status)\n")
        }
        if recording.status != 0 { throw ExitCode(recording.status) }
    }
}

import Foundation

/// What `cloister learn` saw a workload do: every syscall by name and architecture, how often,
/// and for the syscalls that argument filters judge (clone flags, socket families, personality)
/// the values of that argument. Several recordings of one workload merge into one record.
public struct LearnedRecord: Codable, Sendable, Equatable {
    public static let schemaID = "cloister.learn/v1"

    public struct Syscall: Codable, Sendable, Equatable {
        public var count: Int
        /// Argument index ("0") → the distinct values seen, sorted.
        public var arguments: [String: [UInt64]]?
        public init(count: Int, arguments: [String: [UInt64]]? = nil) {
            self.count = count
            self.arguments = arguments
        }
    }

    public var schema: String
    /// The command lines recorded, one per recording.
    public var commands: [[String]]
    public var recordings: Int
    /// Architecture ("x86_64", "x86", "x32") → syscall name → use.
    public var architectures: [String: [String: Syscall]]

    public init(commands: [[String]] = [], recordings: Int = 0, architectures: [String: [String: Syscall]] = [:]) {
        self.schema = Self.schemaID
        self.commands = commands
        self.recordings = recordings
        self.architectures = architectures
    }

    /// The syscalls whose argument values a recording keeps, and which argument.
    public static let filteredArguments: [String: Int] = ["clone": 0, "socket": 0, "personality": 0]

    public mutating func note(architecture: String, syscall name: String, arguments: [UInt64]) {
        var use = architectures[architecture, default: [:]][name] ?? Syscall(count: 0)
        use.count += 1
        if let index = Self.filteredArguments[name], index < arguments.count {
            var values = use.arguments ?? [:]
            let value = arguments[index]
            if !(values[String(index)] ?? []).contains(value) {
                values[String(index), default: []].append(value)
                values[String(index)]?.sort()
            }
            use.arguments = values
        }
        architectures[architecture, default: [:]][name] = use
    }

    /// Both recordings in one: counts add, argument values unite.
    public func merged(with other: LearnedRecord) -> LearnedRecord {
        var result = self
        result.commands += other.commands
        result.recordings += other.recordings
        for (architecture, calls) in other.architectures {
            for (name, use) in calls {
                var mine = result.architectures[architecture, default: [:]][name] ?? Syscall(count: 0)
                mine.count += use.count
                if let theirs = use.arguments {
                    var values = mine.arguments ?? [:]
                    for (index, list) in theirs {
                        values[index] = Array(Set(values[index] ?? []).union(list)).sorted()
                    }
                    mine.arguments = values
                }
                result.architectures[architecture, default: [:]][name] = mine
            }
        }
        return result
    }

    public static func decode(_ data: Data, file: String) throws -> LearnedRecord {
        let record: LearnedRecord
        do {
            record = try JSONDecoder().decode(LearnedRecord.self, from: data)
        } catch {
            throw ProfileInputError(file: file, message: "is not a learned record: \(error)")
        }
        guard record.schema == schemaID else {
            throw ProfileInputError(file: file, message: "has schema \(record.schema), expected \(schemaID)")
        }
        return record
    }
}

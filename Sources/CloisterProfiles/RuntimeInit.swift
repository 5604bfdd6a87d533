import Foundation
import Yams

/// `policies/runtime-init.yaml`: the calls each OCI runtime's init makes between loading the
/// container's seccomp filter and exec'ing the workload, per runtime and version, with where
/// each list came from. A generated profile must allow them or the container never starts.
public struct RuntimeInit: Codable, Sendable, Equatable {
    public static let supportedVersion = 1

    public struct Calls: Codable, Sendable, Equatable {
        public var source: String
        public var syscalls: [String]
    }

    public struct Entry: Codable, Sendable, Equatable {
        /// A version range: space-separated comparisons (`>=1.1.0 <1.2.0`).
        public var versions: String
        public var source: String
        /// How the list was measured on a real runtime, when it was.
        public var measured: String?
        public var syscalls: [String]
    }

    public struct Runtime: Codable, Sendable, Equatable {
        /// The init is a Go program: the Go runtime's own calls may come at any moment.
        public var goRuntime: Bool
        public var versions: [Entry]
    }

    public var version: Int
    public var source: String
    public var goRuntime: Calls
    public var runtimes: [String: Runtime]
    /// Engine → the runtimes it starts containers with.
    public var engines: [String: [String]]

    public static func parse(yaml: String, file: String = "runtime-init.yaml") throws -> RuntimeInit {
        let data: RuntimeInit
        do {
            data = try YAMLDecoder().decode(RuntimeInit.self, from: yaml)
        } catch {
            throw ProfileInputError(file: file, message: "is not a valid runtime-init file: \(error)")
        }
        guard data.version <= supportedVersion else {
            throw ProfileInputError(
                file: file,
                message: "has version \(data.version), newer than this cloister knows (\(supportedVersion)); upgrade cloister")
        }
        for (name, runtime) in data.runtimes {
            for entry in runtime.versions where VersionRange(entry.versions) == nil {
                throw ProfileInputError(file: file, message: "runtime \(name): '\(entry.versions)' is not a version range (e.g. \">=1.1.0 <1.2.0\")")
            }
        }
        for (engine, names) in data.engines {
            for name in names where data.runtimes[name] == nil {
                throw ProfileInputError(file: file, message: "engine \(engine) names runtime '\(name)', which has no entry")
            }
        }
        return data
    }

    /// Every runtime and engine name `--runtime` accepts.
    public var knownNames: [String] { (runtimes.keys.sorted() + engines.keys.sorted()) }

    /// A `--runtime` argument resolved: `runc`, `runc:1.1.5`, or an engine (`docker`, `podman`).
    public struct Selection: Sendable, Equatable {
        public var runtime: String
        /// nil: every version of the runtime this file knows.
        public var version: String?
        public init(runtime: String, version: String? = nil) {
            self.runtime = runtime
            self.version = version
        }
        public var description: String { version.map { "\(runtime) \($0)" } ?? runtime }
    }

    /// Resolves `NAME[:VERSION]`; engines expand to their runtimes (every version).
    public func selections(for argument: String) throws -> [Selection] {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first?.lowercased() ?? ""
        let version = parts.count > 1 ? parts[1] : nil
        if runtimes[name] != nil {
            if let version, Self.numericVersion(version) == nil {
                throw ProfileInputError(file: "--runtime", message: "'\(argument)': '\(version)' is not a version (e.g. runc:1.1.5)")
            }
            return [Selection(runtime: name, version: version)]
        }
        if let names = engines[name] {
            if version != nil {
                throw ProfileInputError(file: "--runtime", message: "'\(argument)': an engine takes no version; name its runtime instead (e.g. runc:1.1.5)")
            }
            return names.map { Selection(runtime: $0) }
        }
        throw ProfileInputError(file: "--runtime", message: "'\(argument)' is neither a runtime nor an engine cloister knows (known: \(knownNames.joined(separator: ", ")))")
    }

    /// The calls the selected runtimes' inits make after the filter is loaded. A version no
    /// entry covers falls back to every entry of that runtime (a newer runtime than this file
    /// knows is more likely to need more than less), and `unmatched` says so.
    public func syscalls(for selections: [Selection]) -> (syscalls: Set<String>, unmatched: [Selection]) {
        var result: Set<String> = []
        var unmatched: [Selection] = []
        for selection in selections {
            guard let runtime = runtimes[selection.runtime] else { continue }
            var entries = runtime.versions
            if let version = selection.version, let parsed = Self.numericVersion(version) {
                let matching = entries.filter { VersionRange($0.versions)?.contains(parsed) == true }
                if matching.isEmpty { unmatched.append(selection) } else { entries = matching }
            }
            for entry in entries { result.formUnion(entry.syscalls) }
            if runtime.goRuntime { result.formUnion(goRuntime.syscalls) }
        }
        return (result, unmatched)
    }

    /// `1.1.5`, `1.1.5+ds1`, `v1.2.0-rc.1` → [1, 1, 5]; nil when it starts with no number.
    public static func numericVersion(_ text: String) -> [Int]? {
        var trimmed = Substring(text)
        if trimmed.first == "v" { trimmed = trimmed.dropFirst() }
        let core = trimmed.prefix { $0.isNumber || $0 == "." }
        let numbers = core.split(separator: ".").compactMap { Int($0) }
        return numbers.isEmpty ? nil : numbers
    }

    /// A conjunction of comparisons over dotted numeric versions.
    struct VersionRange {
        var bounds: [(op: String, version: [Int])]

        init?(_ text: String) {
            var bounds: [(op: String, version: [Int])] = []
            for token in text.split(separator: " ") {
                guard let op = [">=", "<=", ">", "<", "="].first(where: { token.hasPrefix($0) }),
                      let version = RuntimeInit.numericVersion(String(token.dropFirst(op.count)))
                else { return nil }
                bounds.append((op, version))
            }
            if bounds.isEmpty { return nil }
            self.bounds = bounds
        }

        func contains(_ version: [Int]) -> Bool {
            bounds.allSatisfy { bound in
                let order = Self.compare(version, bound.version)
                switch bound.op {
                case ">=": return order >= 0
                case "<=": return order <= 0
                case ">": return order > 0
                case "<": return order < 0
                default: return order == 0
                }
            }
        }

        static func compare(_ a: [Int], _ b: [Int]) -> Int {
            for index in 0..<max(a.count, b.count) {
                let x = index < a.count ? a[index] : 0
                let y = index < b.count ? b[index] : 0
                if x != y { return x < y ? -1 : 1 }
            }
            return 0
        }
    }
}

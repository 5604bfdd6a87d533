import ArgumentParser
import CloisterCodec
import CloisterModel
import CloisterPipeline
import CloisterResourceFiles
import CloisterRules
import Foundation

/// `cloister rules list|show|lint|test`: the rule pack, described, checked and tested.
public struct RulesCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, show, lint and test the rules that scan and check apply.",
        subcommands: [List.self, Show.self, Lint.self, Test.self, Benchmark.self])

    public init() {}
}

/// Where the rules are: `--rules DIR`, else `$CLOISTER_RULES`, else a `rules/` folder beside the
/// executable or one of its ancestors (a checkout's or an install prefix's `share/cloister/rules`).
struct RulesLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory of rule files.", valueName: "DIR"))
    var rules: String?

    func directory() throws -> String {
        if let found = CloisterResources.rulesDirectory(explicit: rules) { return found }
        throw InputErrors.usage("no rules directory found beside the cloister executable; pass --rules DIR or set CLOISTER_RULES")
    }

    /// The host rules of `host/`; a bad file is printed with file and line and exits 2.
    func hostRules() throws -> [HostRuleEntry] {
        do {
            return try HostRuleEntry.load(directory: try directory())
        } catch let exit as ExitCode {
            throw exit
        } catch {
            InputErrors.print(error)
            throw ExitCode(Gate.usageOrInputError)
        }
    }

    /// Loads the pack; a bad file is printed with file and line and exits 2 (input error).
    func load() throws -> RulePack {
        let directory = try directory()
        do {
            var pack = try RulePack.load(directory: directory)
            // The Pod Security Standards' controls, decided by their data file, not the engine.
            let standards = (directory as NSString).appendingPathComponent(PodSecurityStandards.relativePath)
            if FileManager.default.fileExists(atPath: standards) {
                pack.standards = try PodSecurityStandards.load(path: standards).rules
            }
            return pack
        } catch {
            InputErrors.print(error)
            throw ExitCode(Gate.usageOrInputError)
        }
    }
}

/// `--format text|json` of the `rules` subcommands.
enum TextOrJSON: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// The JSON the `rules` subcommands print: one object with `schema` naming its shape and version.
enum RulesJSON {
    static let listSchema = "cloister.rules/v1"
    static let showSchema = "cloister.rule/v1"
    static let testSchema = "cloister.rules-test/v1"
    static let lintSchema = "cloister.rules-lint/v1"

    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// A rule as `rules list` and `rules show` describe it; `decidedBy` says whether the rule
    /// engine evaluates it or the Pod Security Standards' data decides it.
    static func rule(_ rule: Rule, engine: Bool, full: Bool) -> JSONValue {
        var object: JSONObject = [
            "id": .string(rule.id), "title": .string(rule.title), "severity": .string(rule.severity.rawValue),
            "kinds": .array(WorkloadKind.allCases.filter { rule.kinds.contains($0) }.map { .string($0.rawValue) }),
            "decidedBy": .string(engine ? "rules" : "pod-security-standards"),
            "file": .string(rule.file), "line": rule.line.map { .number(Double($0)) } ?? .null,
            "references": .array(rule.references.asReferences.map { reference in
                .object([
                    "source": .string(reference.source), "id": .string(reference.id), "title": string(reference.title),
                    "url": string(reference.url),
                ])
            }),
        ]
        if full {
            object["description"] = string(rule.description)
            object["message"] = .string(rule.message)
            object["remediation"] = .string(rule.remediation)
            if engine {
                object["condition"] = .string("\(rule.condition)")
                object["reads"] = .array(rule.fields.map { .string($0) })
            }
            object["cases"] = .array(rule.cases.map { ruleCase in
                .object([
                    "name": .string(ruleCase.name), "expectation": .string(ruleCase.expectation.rawValue),
                    "line": ruleCase.line.map { .number(Double($0)) } ?? .null,
                ])
            })
        }
        return .object(object)
    }

    static func problems(_ error: any Error) -> [JSONValue] {
        let errors: [InputFileError]
        switch error {
        case let list as InputFileErrors: errors = list.errors
        case let one as InputFileError: errors = [one]
        default: return [.object(["message": .string(error.localizedDescription)])]
        }
        return errors.map { error in
            .object([
                "file": .string(error.file), "line": error.line.map { .number(Double($0)) } ?? .null,
                "column": error.column.map { .number(Double($0)) } ?? .null, "message": .string(error.message),
            ])
        }
    }

    static func print(_ value: JSONValue) { Swift.print(value.serialized(pretty: true)) }
}

enum InputErrors {
    /// A usage mistake found after parsing: said on stderr, exit status 2 (the contract's usage
    /// or input error; ArgumentParser's own ValidationError would exit 64).
    static func usage(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data(("error: " + SafeText.forTerminal(message) + "\n").utf8))
        return ExitCode(Gate.usageOrInputError)
    }

    static func print(_ error: any Error) {
        let text: String
        switch error {
        case let errors as InputFileErrors: text = errors.errors.map { "error: \($0.description)" }.joined(separator: "\n")
        case let error as InputFileError: text = "error: \(error.description)"
        default: text = "error: \(error.localizedDescription)"
        }
        FileHandle.standardError.write(Data((SafeText.forTerminal(text).replacingOccurrences(of: "\\n", with: "\n") + "\n").utf8))
    }
}

extension RulesCommand {
    struct List: CloisterSubcommand {
        static let configuration = CommandConfiguration(abstract: "List the rules: id, severity, kinds, title.")

        @OptionGroup var location: RulesLocation

        @Option(help: "Show only rules for this kind of workload (container, sandbox, vm).")
        var kind: String?

        @Option(help: "Output format: text, or json (schema cloister.rules/v1).")
        var format: TextOrJSON = .text

        func run() async throws {
            if let kind, WorkloadKind(rawValue: kind) == nil {
                throw InputErrors.usage("unknown kind \(kind); use container, sandbox or vm")
            }
            let pack = try location.load()
            let kindFilter = kind.flatMap(WorkloadKind.init(rawValue:))
            let rules = pack.rules.filter { rule in kindFilter.map { rule.applies(to: $0) } ?? true }
            // Host rules judge the host, not a workload of some kind: listed unless a kind is asked.
            let hostRules = kindFilter == nil ? try location.hostRules() : []
            if format == .json {
                let standards = pack.standards.filter { rule in kindFilter.map { rule.applies(to: $0) } ?? true }
                RulesJSON.print(.object([
                    "schema": .string(RulesJSON.listSchema),
                    "files": .array(pack.files.map { .string($0) }),
                    "rules": .array(rules.map { RulesJSON.rule($0, engine: true, full: false) }
                        + standards.map { RulesJSON.rule($0, engine: false, full: false) }
                        + hostRules.map { $0.json(full: false) }),
                ]))
                return
            }
            let idWidth = max(rules.map(\.id.count).max() ?? 2, 2)
            Swift.print("ID".padding(toLength: idWidth + 2, withPad: " ", startingAt: 0) + "SEVERITY  KINDS                    TITLE")
            for rule in rules {
                let kinds = WorkloadKind.allCases.filter { rule.kinds.contains($0) }.map(\.rawValue).joined(separator: ",")
                Swift.print(
                    rule.id.padding(toLength: idWidth + 2, withPad: " ", startingAt: 0)
                        + rule.severity.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + kinds.padding(toLength: 25, withPad: " ", startingAt: 0) + rule.title)
            }
            Swift.print("\(rules.count) rule(s) from \(pack.files.count) file(s)")
            let standards = pack.standards.filter { rule in kindFilter.map { rule.applies(to: $0) } ?? true }
            if !standards.isEmpty {
                Swift.print("\nKubernetes Pod Security Standards, judged on pod specs by check and serve (\(PodSecurityStandards.relativePath)):")
                let width = max(standards.map(\.id.count).max() ?? 2, 2)
                for rule in standards {
                    Swift.print(
                        rule.id.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                            + rule.severity.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + rule.title)
                }
                Swift.print("\(standards.count) control(s)")
            }
            if !hostRules.isEmpty {
                Swift.print("\nHost rules, findings on the host from its daemons' configuration and its packages (host/):")
                let width = max(hostRules.map(\.id.count).max() ?? 2, 2)
                let subjectWidth = max(hostRules.map(\.subject.count).max() ?? 2, 2)
                for rule in hostRules {
                    Swift.print(
                        rule.id.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                            + rule.severity.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                            + rule.subject.padding(toLength: subjectWidth + 2, withPad: " ", startingAt: 0) + rule.title)
                }
                Swift.print("\(hostRules.count) host rule(s)")
            }
        }
    }

    struct Show: CloisterSubcommand {
        static let configuration = CommandConfiguration(abstract: "Show one rule in full: condition, message, remediation, references, cases.")

        @OptionGroup var location: RulesLocation

        @Argument(help: "The rule's id.")
        var id: String

        @Option(help: "Output format: text, or json (schema cloister.rule/v1).")
        var format: TextOrJSON = .text

        func run() async throws {
            let pack = try location.load()
            if pack.rule(id: id) == nil, let host = try location.hostRules().first(where: { $0.id == id }) {
                if format == .json {
                    guard case .object(var object) = host.json(full: true) else { return }
                    object["schema"] = .string(RulesJSON.showSchema)
                    RulesJSON.print(.object(object))
                } else {
                    Swift.print(host.text)
                }
                return
            }
            guard let rule = pack.rule(id: id) else {
                let close = (pack.rules + pack.standards).map(\.id).filter { $0.contains(id) || id.contains($0) }
                let hint = close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)"
                throw InputErrors.usage("no rule \(id)\(hint); `cloister rules list` shows them all")
            }
            if format == .json {
                guard case .object(var object) = RulesJSON.rule(rule, engine: pack.rules.contains { $0.id == rule.id }, full: true)
                else { return }
                object["schema"] = .string(RulesJSON.showSchema)
                RulesJSON.print(.object(object))
                return
            }
            let kinds = WorkloadKind.allCases.filter { rule.kinds.contains($0) }.map(\.rawValue).joined(separator: ", ")
            var lines = [
                "\(rule.id): \(rule.title)",
                "  severity:    \(rule.severity.rawValue)",
                "  applies to:  \(kinds)",
                "  defined in:  \(rule.file)\(rule.line.map { ":\($0)" } ?? "")",
            ]
            if let description = rule.description { lines.append("  description: \(description.trimmingCharacters(in: .whitespacesAndNewlines))") }
            let decided = pack.rules.contains { $0.id == rule.id }
                ? ["  condition:   \(rule.condition)", "  reads:       \(rule.fields.joined(separator: ", "))"]
                : ["  condition:   the Pod Security Standards control, as Pod Security Admission decides it on a pod spec (\(rule.file))"]
            lines += decided + [
                "  message:     \(rule.message)",
                "  remediation: \(rule.remediation)",
                "  references:",
            ]
            for reference in rule.references.asReferences {
                lines.append("    - \(reference.title ?? "\(reference.source) \(reference.id)")\(reference.url.map { " <\($0)>" } ?? "")")
            }
            lines.append("  cases:")
            for ruleCase in rule.cases {
                lines.append("    - \(ruleCase.expectation.rawValue): \(ruleCase.name) (line \(ruleCase.line ?? 0))")
            }
            Swift.print(lines.joined(separator: "\n"))
        }
    }

    struct Lint: CloisterSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Check rule files (and an exposure policy) for errors, each named with file and line.",
            discussion: "Exit status: 0 no problems, 1 problems found, 2 the directory or a file could not be read.")

        @OptionGroup var location: RulesLocation

        @Option(help: ArgumentHelp("Also check this exposure policy file.", valueName: "FILE"))
        var policy: String?

        @Option(help: "Output format: text, or json (schema cloister.rules-lint/v1).")
        var format: TextOrJSON = .text

        func run() async throws {
            let directory = try location.directory()
            let files: [String]
            do {
                files = try RulePack.ruleFiles(in: directory)
            } catch {
                InputErrors.print(error)
                throw ExitCode(Gate.usageOrInputError)
            }
            var found: [JSONValue] = []
            var ruleCount = 0
            func report(_ error: any Error) {
                found += RulesJSON.problems(error)
                if format == .text { InputErrors.print(error) }
            }
            do {
                ruleCount = try RulePack.load(files: files).rules.count
            } catch {
                report(error)
            }
            // The Pod Security Standards' data, when the directory has it.
            let standards = (directory as NSString).appendingPathComponent(PodSecurityStandards.relativePath)
            var checked = files
            if FileManager.default.fileExists(atPath: standards) {
                checked.append(standards)
                do { _ = try PodSecurityStandards.load(path: standards) } catch { report(error) }
            }
            if let policy {
                checked.append(policy)
                do { _ = try ExposurePolicy.load(path: policy) } catch { report(error) }
            }
            if format == .json {
                RulesJSON.print(.object([
                    "schema": .string(RulesJSON.lintSchema), "directory": .string(directory),
                    "files": .array(checked.map { .string($0) }), "rules": .number(Double(ruleCount)),
                    "problems": .array(found),
                ]))
                if !found.isEmpty { throw ExitCode(Gate.failed) }
                return
            }
            if !found.isEmpty {
                Swift.print("\(found.count) problem(s) in \(directory)")
                throw ExitCode(Gate.failed)
            }
            Swift.print("\(ruleCount) rule(s) in \(files.count) file(s): no problems")
        }
    }

    struct Test: CloisterSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every rule's cases: postures it must fire on and must stay silent on.",
            discussion: "Exit status: 0 all cases pass, 1 a case failed, 2 the rules could not be loaded.")

        @OptionGroup var location: RulesLocation

        @Option(help: "Run only this rule's cases.")
        var rule: String?

        @Flag(help: "Print every case, not only failures.")
        var verbose = false

        @Option(help: "Output format: text, or json (schema cloister.rules-test/v1, every case).")
        var format: TextOrJSON = .text

        func run() async throws {
            let pack = try location.load()
            var rules = pack.rules
            if let rule {
                rules = rules.filter { $0.id == rule }
                if rules.isEmpty { throw InputErrors.usage("no rule \(rule); `cloister rules list` shows them all") }
            }
            var failed = 0
            var total = 0
            var cases: [JSONValue] = []
            for rule in rules {
                for result in RuleTester.run(rule) {
                    total += 1
                    let place = "\(result.file):\(result.line ?? 0)"
                    if !result.passed { failed += 1 }
                    if format == .json {
                        cases.append(.object([
                            "rule": .string(result.rule), "name": .string(result.name),
                            "expectation": .string(result.expectation.rawValue), "passed": .bool(result.passed),
                            "file": .string(result.file), "line": result.line.map { .number(Double($0)) } ?? .null,
                            "detail": result.passed ? .null : .string(result.detail),
                        ]))
                    } else if !result.passed {
                        Swift.print("FAIL \(result.rule) [\(result.expectation.rawValue)] \(result.name) (\(place)): \(result.detail)")
                    } else if verbose {
                        Swift.print("ok   \(result.rule) [\(result.expectation.rawValue)] \(result.name)")
                    }
                }
            }
            if format == .json {
                RulesJSON.print(.object([
                    "schema": .string(RulesJSON.testSchema), "rules": .number(Double(rules.count)),
                    "cases": .number(Double(total)), "failed": .number(Double(failed)), "results": .array(cases),
                ]))
            } else {
                Swift.print("\(total - failed) of \(total) case(s) passed across \(rules.count) rule(s)")
            }
            if failed > 0 { throw ExitCode(Gate.failed) }
        }
    }

    struct Benchmark: CloisterSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the whole pack over synthetic postures (target: 1,000 postures in under 50 ms).",
            shouldDisplay: false)

        @OptionGroup var location: RulesLocation

        @Option(help: "How many postures.")
        var postures = 1000

        @Option(help: "How many runs (the median is reported).")
        var runs = 9

        @Option(help: ArgumentHelp("Also time exposure scoring with this policy.", valueName: "FILE"))
        var policy: String?

        /// CPU time of this thread: what the evaluation costs, whatever else the machine runs.
        static func threadCPUNanoseconds() -> UInt64 {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }

        static func wallNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

        func run() async throws {
            let pack = try location.load()
            var exposurePolicy: ExposurePolicy?
            let policyPath = CloisterResources.exposurePolicy(explicit: policy, rulesDirectory: try? location.directory())
            if let policyPath {
                do { exposurePolicy = try ExposurePolicy.load(path: policyPath) } catch {
                    InputErrors.print(error)
                    throw ExitCode(Gate.usageOrInputError)
                }
            }
            let target = 50.0 * Double(postures) / 1000
            for (label, clock) in [("CPU time", Self.threadCPUNanoseconds), ("wall clock", Self.wallNanoseconds)] {
                let result = RuleBenchmark.run(pack: pack, policy: exposurePolicy, postures: postures, runs: runs, clock: clock)
                Swift.print("[\(label)] rules: \(result.rules), postures: \(result.postures), findings per run: \(result.findings)")
                Swift.print(String(
                    format: "[%@] rule evaluation: median %.2f ms over %d runs (min %.2f, max %.2f); target < %.0f ms: %@",
                    label, result.medianMilliseconds, result.runs.count, result.runs.min() ?? 0, result.runs.max() ?? 0,
                    target, result.medianMilliseconds < target ? "met" : "MISSED"))
                Swift.print(String(format: "[%@]   of which posture trees: median %.2f ms", label, result.encodingMedianMilliseconds))
                if let scoring = result.scoringMedianMilliseconds {
                    Swift.print(String(format: "[%@] exposure scoring (trees included): median %.2f ms", label, scoring))
                }
            }
        }
    }
}

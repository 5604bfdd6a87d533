import CloisterPlacement
import CloisterProfiles
import CloisterRules
import Foundation

// The one place where rule files, policies, baselines, scenarios, workload descriptions and
// syscall groups are read from disk. The modules that give them meaning (Rules, Placement,
// Profiles) only parse text they are handed, so they read no files and test anywhere; every
// caller that has paths (commands, serve, tests, the fuzz package) goes through the loaders
// below, which keep the names, signatures and error messages the parsers used to have.

/// Reads resource files as UTF-8 text, each reader keeping the error wording its file kind has
/// always had (tests and users see it).
enum ResourceFiles {
    /// A rule, exposure policy or baseline file, its failure as the `InputFileError` rule files
    /// have always reported.
    static func ruleText(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(file: path, message: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputFileError(file: path, message: "the file is not UTF-8 text")
        }
        return text
    }

    /// A policy, scenario, description or syscall-group file; `failure` builds the module's own
    /// error from Foundation's sentence ("cannot be read: …").
    static func text(of url: URL, failure: (_ message: String) -> any Error) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw failure("cannot be read: \(error.localizedDescription)")
        }
    }

    static func placementText(of url: URL) throws -> String {
        try text(of: url) { PlacementInputError(file: url.path, field: "", message: $0) }
    }
}

extension RulePack {
    /// Loads every `*.yaml`/`*.yml` file in `directory` (sorted by name). Throws
    /// `InputFileErrors` listing every problem in every file, each with file and line.
    /// `includeCases: false` skips building each rule's test postures (see `parse(files:)`).
    public static func load(directory: String, includeCases: Bool = true) throws -> RulePack {
        try load(files: try ruleFiles(in: directory), includeCases: includeCases)
    }

    public static func ruleFiles(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputFileError(file: directory, message: "no rules directory here (pass --rules DIR or set CLOISTER_RULES)")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
        guard !files.isEmpty else {
            throw InputFileError(file: directory, message: "no rule files (*.yaml) in this directory")
        }
        return files
    }

    /// Reads `files` and parses them as one pack. A file that cannot be read is reported among
    /// the other files' problems, in file order, as it was when reading and parsing were one loop:
    /// every error `parse(files:)` reports names the file it came from, so the two lists merge
    /// file by file.
    public static func load(files: [String], includeCases: Bool = true) throws -> RulePack {
        var texts: [(name: String, text: String)] = []
        var unreadable: [String: InputFileError] = [:]
        for file in files {
            do {
                texts.append((name: file, text: try ResourceFiles.ruleText(path: file)))
            } catch let error as InputFileError {
                unreadable[file] = error
            }
        }
        if unreadable.isEmpty { return try parse(files: texts, includeCases: includeCases) }
        var parseErrors: [InputFileError] = []
        do {
            _ = try parse(files: texts, includeCases: includeCases)
        } catch let error as InputFileErrors {
            parseErrors = error.errors
        }
        throw InputFileErrors(files.flatMap { file in unreadable[file].map { [$0] } ?? parseErrors.filter { $0.file == file } })
    }
}

extension PodSecurityStandards {
    /// Where the standard's data sits in a rules directory.
    public static let relativePath = "pss/pod-security-standards.yaml"

    public static func load(path: String) throws -> PodSecurityStandards {
        try parse(yaml: try ResourceFiles.ruleText(path: path), file: path)
    }
}

extension HostConfigurationRules {
    public static func load(path: String) throws -> HostConfigurationRules {
        try parse(yaml: try ResourceFiles.ruleText(path: path), file: path)
    }
}

extension HostAdvisories {
    public static func load(path: String) throws -> HostAdvisories {
        try parse(yaml: try ResourceFiles.ruleText(path: path), file: path)
    }
}

extension ExposurePolicy {
    public static func load(path: String) throws -> ExposurePolicy {
        try parse(yaml: try ResourceFiles.ruleText(path: path), file: path)
    }
}

extension Baseline {
    public static func load(path: String) throws -> Baseline {
        try parse(yaml: try ResourceFiles.ruleText(path: path), file: path)
    }
}

extension Catalogue {
    /// Reads `sources.yaml`, `catalogue.yaml`, `threat-models.yaml` and `compliance.yaml` from
    /// a policies directory and checks that every cited source exists.
    public static func load(directory: URL) throws -> Catalogue {
        func file(_ name: String) throws -> (file: String, text: String) {
            let url = directory.appendingPathComponent(name)
            return (file: url.path, text: try ResourceFiles.placementText(of: url))
        }
        return try parse(
            sources: try file("sources.yaml"), catalogue: try file("catalogue.yaml"),
            threatModels: try file("threat-models.yaml"), compliance: try file("compliance.yaml"))
    }
}

extension Scenario {
    public static func load(contentsOf url: URL) throws -> Scenario {
        try parse(yaml: try ResourceFiles.placementText(of: url), file: url.path, name: url.lastPathComponent)
    }

    /// Every `*.yaml` in a directory, sorted by file name.
    public static func loadAll(directory: URL) throws -> [Scenario] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        return try names.map { try load(contentsOf: directory.appendingPathComponent($0)) }
    }
}

extension WorkloadDescription {
    /// Reads a description file. Errors name the file, line, field and allowed values.
    public static func load(contentsOf url: URL) throws -> WorkloadDescription {
        try parse(yaml: try ResourceFiles.placementText(of: url), file: url.path)
    }
}

extension SyscallGroups {
    public static func load(contentsOf url: URL) throws -> SyscallGroups {
        try parse(yaml: try ResourceFiles.text(of: url) { ProfileInputError(file: url.path, message: $0) }, file: url.path)
    }
}

extension RuntimeInit {
    public static func load(contentsOf url: URL) throws -> RuntimeInit {
        try parse(yaml: try ResourceFiles.text(of: url) { ProfileInputError(file: url.path, message: $0) }, file: url.path)
    }
}

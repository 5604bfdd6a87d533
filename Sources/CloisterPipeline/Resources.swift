import CloisterResourceFiles
import CloisterRules
import Foundation

/// Where cloister's shipped files are: the pipeline loads its judges from them, and the commands
/// that take `--rules DIR` and `--policy FILE` name them.
public enum CloisterResources {
    /// `explicit`, else `$CLOISTER_RULES`, else a `rules/` (or `share/cloister/rules/`) folder
    /// beside the executable or one of its ancestors.
    public static func rulesDirectory(explicit: String? = nil) -> String? {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CLOISTER_RULES"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return besideExecutable(["rules", "share/cloister/rules"]) { path in (try? RulePack.ruleFiles(in: path)) != nil }
    }

    /// `explicit`, else `$CLOISTER_POLICY`, else `policies/exposure.yaml` beside the rules
    /// directory, the executable or one of its ancestors.
    public static func exposurePolicy(explicit: String? = nil, rulesDirectory: String? = nil) -> String? {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CLOISTER_POLICY"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        if let rulesDirectory {
            let beside = URL(fileURLWithPath: rulesDirectory).deletingLastPathComponent()
                .appendingPathComponent("policies/exposure.yaml").path
            if FileManager.default.fileExists(atPath: beside) { return beside }
        }
        return besideExecutable(["policies/exposure.yaml", "share/cloister/policies/exposure.yaml"]) {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    static func besideExecutable(_ candidates: [String], accept: (String) -> Bool) -> String? {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        var url = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        while !url.path.isEmpty {
            for candidate in candidates {
                let path = url.appendingPathComponent(candidate).path
                if accept(path) { return path }
            }
            if url.path == "/" { break }
            url.deleteLastPathComponent()
        }
        return nil
    }
}

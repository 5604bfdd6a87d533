import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Foundation

/// The repository's root, found from this file so tests read the real `rules/` and `policies/`.
enum Repository {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var rulesDirectory: String { root + "/rules" }
    static var exposurePolicy: String { root + "/policies/exposure.yaml" }
}

enum Shipped {
    static let pack: RulePack = {
        do { return try RulePack.load(directory: Repository.rulesDirectory) } catch {
            fatalError("the shipped rules do not load:\n\(error.localizedDescription)")
        }
    }()

    static let policy: ExposurePolicy = {
        do { return try ExposurePolicy.load(path: Repository.exposurePolicy) } catch {
            fatalError("the shipped exposure policy does not load:\n\(error.localizedDescription)")
        }
    }()

    static var ruleIDs: [String] { pack.rules.map(\.id) }
}

import Foundation
import Testing

/// Package.swift declares exactly the modules each target imports: no dependency left behind
/// after the code that used it moved (an unused one links code for nothing and misleads the
/// reader of the graph), none reached only through another module. docs/architecture.md's
/// table is written from the same declarations.
@Suite("Module graph")
struct ModuleGraphTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Each `.target`/`.executableTarget` of Package.swift with the names in its dependencies
    /// list (targets by name, products by `name:`).
    static func declaredTargets() throws -> [String: Set<String>] {
        let manifest = try String(contentsOf: repository.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets: [String: Set<String>] = [:]
        var rest = Substring(manifest)
        while let start = rest.range(of: #"(\.target|\.executableTarget)\("#, options: .regularExpression) {
            // The call's arguments: up to the parenthesis that closes it.
            var depth = 0
            var end = start.upperBound
            for index in rest[start.lowerBound...].indices {
                if rest[index] == "(" { depth += 1 }
                if rest[index] == ")" {
                    depth -= 1
                    if depth == 0 {
                        end = index
                        break
                    }
                }
            }
            let call = rest[start.upperBound..<end]
            rest = rest[end...]
            guard let name = call.firstMatch(of: /name:\s*"([^"]+)"/)?.output.1 else { continue }
            var dependencies = Set<String>()
            if let list = call.firstMatch(of: /dependencies:\s*\[([^\]]*)\]/)?.output.1 {
                for match in list.matches(of: /"([A-Za-z][A-Za-z0-9]*)"/) {
                    let word = String(match.output.1)
                    // `.product(name: "Yams", package: "Yams")`: the product's name is imported.
                    if list[..<match.range.lowerBound].hasSuffix("package: ") { continue }
                    dependencies.insert(word)
                }
            }
            targets[String(name)] = dependencies
        }
        return targets
    }

    /// The modules a target's sources import.
    static func imports(of target: String) throws -> Set<String> {
        let directory = repository.appendingPathComponent("Sources/\(target)")
        var found = Set<String>()
        guard let files = FileManager.default.enumerator(atPath: directory.path) else { return found }
        while let file = files.nextObject() as? String {
            guard file.hasSuffix(".swift") || file.hasSuffix(".c") || file.hasSuffix(".h") else { continue }
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /(?m)^\s*(?:@testable\s+|@_exported\s+)?import\s+([A-Za-z_][A-Za-z0-9_]*)/) {
                found.insert(String(match.output.1))
            }
        }
        return found
    }

    /// Products whose module name differs from the product's.
    static let productModules: [String: Set<String>] = ["Crypto": ["Crypto"], "ArgumentParser": ["ArgumentParser"]]

    @Test("Every declared dependency is imported by the target's own sources")
    func noUnusedDependencies() throws {
        let targets = try Self.declaredTargets()
        #expect(targets.count > 20)
        for (target, dependencies) in targets.sorted(by: { $0.key < $1.key }) {
            let imported = try Self.imports(of: target)
            for dependency in dependencies.sorted() {
                let modules = Self.productModules[dependency] ?? [dependency]
                #expect(!modules.isDisjoint(with: imported), "\(target) declares \(dependency) but never imports it")
            }
        }
    }

    @Test("Every cloister module a target imports is declared, not reached through another")
    func noUndeclaredImports() throws {
        let targets = try Self.declaredTargets()
        for (target, dependencies) in targets.sorted(by: { $0.key < $1.key }) {
            for module in try Self.imports(of: target).sorted()
            where module.hasPrefix("Cloister") && module != target && targets[module] != nil {
                #expect(dependencies.contains(module), "\(target) imports \(module) without declaring it")
            }
        }
    }
}

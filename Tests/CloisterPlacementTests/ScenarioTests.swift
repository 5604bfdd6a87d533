import CloisterResourceFiles
import Foundation
import Testing
@testable import CloisterPlacement

/// The repository's `policies/` directory, found from this file so tests run from any directory.
let policiesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("policies")

func loadCatalogue() throws -> Catalogue { try Catalogue.load(directory: policiesDirectory) }

func scenarios() -> [Scenario] {
    (try? Scenario.loadAll(directory: policiesDirectory.appendingPathComponent("scenarios"))) ?? []
}

@Suite struct ScenarioSuite {
    @Test func suiteHasAtLeastTwentyCitedScenarios() throws {
        let all = try Scenario.loadAll(directory: policiesDirectory.appendingPathComponent("scenarios"))
        #expect(all.count >= 20)
        let catalogue = try loadCatalogue()
        for scenario in all {
            #expect(!scenario.source.isEmpty, "\(scenario.id) cites nothing")
            for id in scenario.source {
                #expect(catalogue.sources[id] != nil, "\(scenario.id) cites unknown source \(id)")
            }
        }
        #expect(Set(all.map(\.id)).count == all.count, "scenario ids must be unique")
    }

    @Test(arguments: scenarios())
    func scenarioGetsTheAnswerItsSourcesGive(_ scenario: Scenario) throws {
        let engine = PlacementEngine(catalogue: try loadCatalogue())
        let advice = try engine.advise(scenario.workload, threatModel: scenario.threatModel)
        let problems = scenario.check(advice)
        #expect(problems.isEmpty, "\(scenario.file): \(problems.joined(separator: "; "))")
    }
}

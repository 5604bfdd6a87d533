import CloisterCodec
import CloisterModel
import Foundation

/// Renders advice for people (a table) and machines (JSON with sorted keys, so the same advice
/// is the same bytes). Everything that came from the description is escaped for the terminal.
public enum AdviceRenderer {
    public static func json(_ advice: Advice) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(advice), as: UTF8.self)
    }

    public static func table(_ advice: Advice) -> String {
        let safe = SafeText.forTerminal
        var lines: [String] = []
        lines.append("Workload: \(safe(advice.workload))")
        lines.append("Threat models: " + advice.threatModels.map { "\($0.id) (\($0.selection))" }.joined(separator: ", "))
        lines.append("")
        if let recommendation = advice.recommendation {
            lines.append("RECOMMENDATION  \(recommendation.option)  (\(recommendation.name))")
            lines.append("  scope:     \(recommendation.scope.rawValue)")
            lines.append("  boundary:  level \(recommendation.boundaryLevel): \(recommendation.boundary)")
            lines.append("  surface:   \(recommendation.hostKernelSurface)")
            lines.append("  start-up:  ~\(recommendation.startupMs) ms (\(recommendation.startupSource)); memory overhead ~\(recommendation.memoryOverheadMiB) MiB")
        } else {
            lines.append("RECOMMENDATION  none: no option satisfies the hard constraints and the threat model")
        }
        lines.append("")
        lines.append("WHY")
        for reason in advice.reasons { lines.append("  - \(safe(reason.message))  [\(reason.policy)]") }
        lines.append("")
        lines.append("ALTERNATIVES")
        let width = max(18, advice.alternatives.map(\.option.count).max() ?? 0)
        lines.append("  " + "RANK".padding(toLength: 6, withPad: " ", startingAt: 0)
            + "OPTION".padding(toLength: width + 2, withPad: " ", startingAt: 0) + "SCORE   WHY IT LOST")
        for alternative in advice.alternatives {
            let score = alternative.score.map(String.init) ?? "out"
            let first = alternative.reasons.first.map { "\(safe($0.message))  [\($0.policy)]" } ?? ""
            lines.append("  " + String(alternative.rank).padding(toLength: 6, withPad: " ", startingAt: 0)
                + alternative.option.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                + score.padding(toLength: 8, withPad: " ", startingAt: 0) + first)
            for reason in alternative.reasons.dropFirst() {
                lines.append(String(repeating: " ", count: width + 18) + "\(safe(reason.message))  [\(reason.policy)]")
            }
        }
        if !advice.residualRisks.isEmpty {
            lines.append("")
            lines.append("RESIDUAL RISKS")
            for risk in advice.residualRisks {
                let examples = risk.examples.isEmpty ? "" : " (\(risk.examples.joined(separator: ", ")))"
                lines.append("  - \(risk.title)\(examples): \(risk.note)  [\(risk.policy)]")
            }
        }
        if !advice.hardening.steps.isEmpty {
            lines.append("")
            lines.append("HARDENING STILL NEEDED")
            for step in advice.hardening.steps { lines.append("  - \(step.id): \(step.step)  [\(step.policy)]") }
        }
        if !advice.relaxations.isEmpty {
            lines.append("")
            lines.append("RELAXATIONS (from the description's needs)")
            for relaxation in advice.relaxations { lines.append("  ! \(safe(relaxation))") }
        }
        if !advice.complianceNotes.isEmpty {
            lines.append("")
            lines.append("COMPLIANCE")
            for note in advice.complianceNotes { lines.append("  - \(safe(note.regime)): \(safe(note.note))") }
        }
        if !advice.assumptions.isEmpty {
            lines.append("")
            lines.append("ASSUMED DEFAULTS: " + advice.assumptions.map(safe).joined(separator: ", "))
        }
        lines.append("")
        lines.append("SOURCES")
        for id in advice.sources.keys.sorted() {
            if let source = advice.sources[id] { lines.append("  [\(id)] \(source.title) <\(source.url)>") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

import CloisterCodec
import CloisterModel
import Foundation
import Yams

/// One weighted setting of the exposure policy: how bad a posture is on it, from 0 (as
/// confined as it can be) to 1 (not confined at all).
public struct ExposureSetting: Sendable {
    public var id: String
    public var title: String
    public var weight: Double
    /// Kinds the setting applies to. A setting for every kind is *shared*: it is weighed the
    /// same for a container and a VM, so equal confinement scores equal.
    public var kinds: Set<WorkloadKind>
    /// Tried in order; the first that holds gives the badness. None holds: 0.
    public var badness: [(condition: Condition, value: Double)]

    public var isShared: Bool { kinds.count == WorkloadKind.allCases.count }
}

public struct ExposureLevel: Sendable, Equatable {
    public var name: String
    /// The highest score (inclusive) that has this level.
    public var upTo: Double
}

/// How one setting contributed to a score.
public struct ExposureContribution: Sendable, Equatable {
    public var setting: String
    public var title: String
    public var weight: Double
    public var badness: Double
    /// True when the setting reads a field the posture could not read (scored as `unknownBadness`).
    public var unknown: Bool
    public var shared: Bool
}

public struct ExposureBreakdown: Sendable, Equatable {
    public var exposure: Exposure
    public var contributions: [ExposureContribution]
    /// The score over the settings every kind shares only (what makes a container and a VM comparable).
    public var sharedScore: Double
}

/// Weights and levels for the exposure score (`policies/exposure.yaml`).
public struct ExposurePolicy: Sendable {
    public static let supportedVersion = 1

    public var settings: [ExposureSetting]
    public var levels: [ExposureLevel]
    /// Total weight of each kind's own settings (those not shared by every kind). Each kind's
    /// own settings are scaled to this total, so no kind gains or loses by having more of them.
    public var kindSpecificWeight: Double
    /// The badness given to a setting whose fields could not be read: unknown is not safe.
    public var unknownBadness: Double
    public var file: String

    public static func parse(yaml text: String, file: String) throws -> ExposurePolicy {
        let (root, problems) = try YAMLFile.open(text, file: file, known: supportedVersion, what: "exposure policy")
        let fail = problems.fail
        var settings: [ExposureSetting] = []
        var levels: [ExposureLevel] = []
        var kindSpecificWeight = 0.0
        var unknownBadness = 1.0
        for pair in root.pairs {
            switch pair.key {
            case "version": break
            case "kindSpecificWeight":
                if case .number(let number) = pair.value.jsonScalar, number >= 0 {
                    kindSpecificWeight = number
                } else {
                    fail(pair.value, "`kindSpecificWeight` is a number, 0 or more")
                }
            case "unknownBadness":
                if case .number(let number) = pair.value.jsonScalar, (0...1).contains(number) {
                    unknownBadness = number
                } else {
                    fail(pair.value, "`unknownBadness` is a number from 0 to 1")
                }
            case "levels":
                for item in pair.value.items {
                    let name = item.pairs.first { $0.key == "name" }?.value.string
                    let upTo = item.pairs.first { $0.key == "upTo" }?.value.jsonScalar
                    guard let name, case .number(let bound)? = upTo else {
                        fail(item, "a level is {name: NAME, upTo: SCORE}")
                        continue
                    }
                    if let last = levels.last, bound <= last.upTo {
                        fail(item, "levels go up: \(bound) is not above \(last.upTo)")
                    }
                    levels.append(ExposureLevel(name: name, upTo: bound))
                }
            case "settings":
                var seen = Set<String>()
                for item in pair.value.items {
                    var conditionParser = ConditionParser(file: file)
                    if let setting = parseSetting(item, parser: &conditionParser, fail: fail) {
                        if !seen.insert(setting.id).inserted { fail(item, "setting `\(setting.id)` is defined twice") }
                        settings.append(setting)
                    }
                    problems.errors += conditionParser.errors
                }
            default:
                fail(pair.keyNode, "unknown key `\(pair.key)` (version, levels, kindSpecificWeight, unknownBadness, settings)")
            }
        }
        if levels.isEmpty { fail(root, "no `levels:`") }
        if let top = levels.last, top.upTo < 10 { fail(root, "the last level must reach 10.0 (it stops at \(top.upTo))") }
        if settings.isEmpty { fail(root, "no `settings:`") }
        try problems.throwIfAny()
        return ExposurePolicy(
            settings: settings, levels: levels, kindSpecificWeight: kindSpecificWeight, unknownBadness: unknownBadness,
            file: file)
    }

    private static func parseSetting(
        _ node: Node, parser: inout ConditionParser, fail: (Node?, String) -> Void
    ) -> ExposureSetting? {
        guard node.isMapping else {
            fail(node, "a setting is a mapping: id, title, weight, kinds, badness")
            return nil
        }
        var id: String?
        var title = ""
        var weight: Double?
        var kinds = Set(WorkloadKind.allCases)
        var badness: [(Condition, Double)] = []
        var hasBadness = false
        for pair in node.pairs {
            switch pair.key {
            case "id": id = pair.value.string
            case "title": title = pair.value.string ?? ""
            case "weight":
                if case .number(let number) = pair.value.jsonScalar, number > 0 { weight = number } else {
                    fail(pair.value, "`weight` is a positive number")
                }
            case "kinds":
                kinds = []
                for item in pair.value.items {
                    if let kind = item.string.flatMap(WorkloadKind.init(rawValue:)) { kinds.insert(kind) } else {
                        fail(item, "unknown workload kind `\(item.string ?? "")` (container, sandbox, vm)")
                    }
                }
            case "badness":
                hasBadness = true
                for step in pair.value.items {
                    let whenNode = step.pairs.first { $0.key == "when" }?.value
                    let valueNode = step.pairs.first { $0.key == "value" }?.value
                    guard let whenNode, let valueNode, case .number(let value) = valueNode.jsonScalar, (0...1).contains(value)
                    else {
                        fail(step, "a badness step is {when: CONDITION, value: 0..1}")
                        continue
                    }
                    if let condition = parser.parse(whenNode) { badness.append((condition, value)) }
                }
            default:
                fail(pair.keyNode, "unknown setting key `\(pair.key)` (id, title, weight, kinds, badness)")
            }
        }
        guard let id, let weight else {
            fail(node, "a setting needs an `id` and a `weight`")
            return nil
        }
        if !hasBadness { fail(node, "setting `\(id)` has no `badness:` steps") }
        return ExposureSetting(id: id, title: title, weight: weight, kinds: kinds, badness: badness)
    }

    public func level(for score: Double) -> String {
        levels.first { score <= $0.upTo + 1e-9 }?.name ?? levels.last?.name ?? "unknown"
    }
}

/// Scores a posture in the way `systemd-analyze security` does: each setting's weight times its
/// badness, summed, over the sum of the weights, scaled to 0–10 and rounded to one decimal.
/// The settings every kind shares are weighed once for all kinds; each kind's own settings
/// count together as `kindSpecificWeight`.
public struct ExposureScorer: Sendable {
    public let policy: ExposurePolicy

    public init(policy: ExposurePolicy) { self.policy = policy }

    public func score(_ posture: Posture) -> Exposure { explain(posture).exposure }

    public func explain(_ posture: Posture) -> ExposureBreakdown {
        let tree = PostureTree.make(posture)
        return explain(posture, tree: tree)
    }

    func explain(_ posture: Posture, tree: JSONValue) -> ExposureBreakdown {
        var contributions: [ExposureContribution] = []
        // The unknown fields' two spellings and roots, once per posture rather than once per setting.
        let unknownFields = UnknownFields(posture.unknown)
        for setting in policy.settings where setting.kinds.contains(posture.kind) {
            var context = EvaluationContext(postureID: posture.id, unknown: unknownFields)
            var badness = 0.0
            var unknown = false
            for step in setting.badness {
                let truth = step.condition.evaluate(tree, context: &context)
                if truth == .yes { badness = step.value; break }
                if truth == .unknown { badness = policy.unknownBadness; unknown = true; break }
            }
            contributions.append(ExposureContribution(
                setting: setting.id, title: setting.title, weight: setting.weight, badness: badness, unknown: unknown,
                shared: setting.isShared))
        }
        let shared = contributions.filter(\.shared)
        let own = contributions.filter { !$0.shared }
        let sharedWeight = shared.reduce(0) { $0 + $1.weight }
        let sharedBad = shared.reduce(0) { $0 + $1.weight * $1.badness }
        let ownWeight = own.reduce(0) { $0 + $1.weight }
        let ownBad = own.reduce(0) { $0 + $1.weight * $1.badness }
        let blockWeight = ownWeight > 0 ? policy.kindSpecificWeight : 0
        let blockBad = ownWeight > 0 ? policy.kindSpecificWeight * ownBad / ownWeight : 0
        let total = sharedWeight + blockWeight
        let raw = total > 0 ? 10 * (sharedBad + blockBad) / total : 0
        let score = Self.round(raw)
        let sharedScore = Self.round(sharedWeight > 0 ? 10 * sharedBad / sharedWeight : 0)
        return ExposureBreakdown(
            exposure: Exposure(score: score, level: policy.level(for: score)), contributions: contributions,
            sharedScore: sharedScore)
    }

    static func round(_ value: Double) -> Double { (min(max(value, 0), 10) * 10).rounded() / 10 }

    /// Postures with their `exposure` filled in.
    public func scored(_ postures: [Posture]) -> [Posture] {
        postures.map { posture in
            var posture = posture
            posture.exposure = score(posture)
            return posture
        }
    }
}

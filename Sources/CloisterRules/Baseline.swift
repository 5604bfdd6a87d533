import CloisterModel
import Foundation
import Yams

/// Findings a team has accepted, each with why and until when. An accepted finding is shown as
/// accepted and does not fail the gate; once its acceptance expires it fails again and says so.
///
/// ```yaml
/// version: 1
/// accepted:
///   - rule: ct-cap-added           # a rule id, or * for every rule
///     workload: "podman:web-*"     # glob on the workload's id or name
///     reason: NET_ADMIN needed for the VPN sidecar (TICKET-123)
///     expires: 2026-12-31          # accepted through this day (UTC)
/// ```
public struct Baseline: Sendable {
    public static let supportedVersion = 1

    public struct Entry: Sendable, Equatable {
        public var rule: String
        public var workload: String
        public var reason: String
        /// `YYYY-MM-DD`, inclusive.
        public var expires: String
        public var file: String
        public var line: Int?

        public init(rule: String, workload: String, reason: String, expires: String, file: String = "", line: Int? = nil) {
            self.rule = rule
            self.workload = workload
            self.reason = reason
            self.expires = expires
            self.file = file
            self.line = line
        }

        func matches(_ finding: Finding, posture: Posture?) -> Bool {
            guard rule == "*" || rule == finding.rule else { return false }
            return Glob.matches(workload, finding.workload) || (posture.map { Glob.matches(workload, $0.name) } ?? false)
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public static func parse(yaml text: String, file: String) throws -> Baseline {
        let (root, problems) = try YAMLFile.open(text, file: file, known: supportedVersion, what: "baseline")
        let fail = problems.fail
        var entries: [Entry] = []
        for pair in root.pairs {
            switch pair.key {
            case "version": break
            case "accepted":
                guard pair.value.isSequence else {
                    fail(pair.value, "`accepted` is a list of {rule, workload, reason, expires}")
                    continue
                }
                for item in pair.value.items {
                    guard item.isMapping else {
                        fail(item, "an accepted finding is {rule, workload, reason, expires}")
                        continue
                    }
                    var values: [String: String] = [:]
                    for field in item.pairs {
                        guard ["rule", "workload", "reason", "expires"].contains(field.key) else {
                            fail(field.keyNode, "unknown key `\(field.key)` (rule, workload, reason, expires)")
                            continue
                        }
                        guard field.value.isScalar, let text = field.value.string, !text.isEmpty else {
                            fail(field.value, "`\(field.key)` is non-empty text")
                            continue
                        }
                        values[field.key] = text
                    }
                    let missing = ["rule", "workload", "reason", "expires"].filter { values[$0] == nil }
                    if !missing.isEmpty {
                        fail(item, "accepted finding is missing \(missing.joined(separator: ", ")) (every acceptance says why and until when)")
                        continue
                    }
                    let expires = values["expires"] ?? ""
                    guard Self.isDate(expires) else {
                        let node = item.pairs.first { $0.key == "expires" }?.value
                        fail(node, "`expires` is a date, YYYY-MM-DD (found \(expires))")
                        continue
                    }
                    entries.append(Entry(
                        rule: values["rule"] ?? "", workload: values["workload"] ?? "", reason: values["reason"] ?? "",
                        expires: expires, file: file, line: item.mark?.line))
                }
            default:
                fail(pair.keyNode, "unknown key `\(pair.key)` (version, accepted)")
            }
        }
        try problems.throwIfAny()
        return Baseline(entries: entries)
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return false }
        return year > 1970 && (1...12).contains(month) && (1...31).contains(day)
    }

    /// Today in UTC as `YYYY-MM-DD`.
    public static func day(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    /// Marks accepted findings (`accepted` set to the reason and expiry). A finding whose only
    /// matching acceptances have expired keeps failing, and its message says so.
    public func apply(to findings: [Finding], postures: [Posture] = [], today: Date = Date()) -> [Finding] {
        let todayText = Self.day(of: today)
        let byID = Dictionary(postures.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return findings.map { finding in
            var finding = finding
            let matching = entries.filter { $0.matches(finding, posture: byID[finding.workload]) }
            if let live = matching.first(where: { $0.expires >= todayText }) {
                finding.accepted = "\(live.reason) (accepted until \(live.expires))"
            } else if let expired = matching.max(by: { $0.expires < $1.expires }) {
                finding.accepted = nil
                finding.message += " [baseline acceptance expired on \(expired.expires): \(expired.reason)]"
            }
            return finding
        }
    }
}

/// `*` (any run of characters) and `?` (one character) globs.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern)
        let text = Array(text)
        var p = 0
        var t = 0
        var star = -1
        var mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

import Foundation

/// RFC 3339 date-times (`2026-11-22T10:00:00Z`), as SARIF's `startTimeUtc` and OSCAL's
/// timestamps want them. One value-type format style, built once: `ISO8601DateFormatter` is a
/// class that was built anew on every call.
enum InternetTime {
    static let style = Date.ISO8601FormatStyle(timeZone: TimeZone(secondsFromGMT: 0) ?? .gmt)

    static func format(_ date: Date) -> String { style.format(date) }

    static func parse(_ text: String) -> Date? { try? style.parse(text) }
}

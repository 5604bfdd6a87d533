import CloisterModel

/// The Prometheus text exposition format (version 0.0.4) of the last scan, for `cloister serve`'s
/// `/metrics`. Label values are escaped as the format requires (backslash, double quote,
/// newline); other control characters, which no escape exists for, become U+FFFD, so a hostile
/// workload name stays one label value. Strings are Swift strings, so invalid UTF-8 read from
/// /proc has already become U+FFFD.
public enum PrometheusRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// What the server knows about its scans besides the last report.
    public struct ScanStatistics: Sendable, Equatable {
        /// Scans completed (report stored) since start.
        public var scans: Int
        /// Scans that failed (no report) since start.
        public var errors: Int
        /// Seconds the last completed scan took.
        public var lastDuration: Double?
        /// Unix time the last completed scan finished.
        public var lastCompletion: Double?

        public init(scans: Int = 0, errors: Int = 0, lastDuration: Double? = nil, lastCompletion: Double? = nil) {
            self.scans = scans
            self.errors = errors
            self.lastDuration = lastDuration
            self.lastCompletion = lastCompletion
        }
    }

    /// The live gauge `cloister serve` appends to the last scan's metrics on each scrape: the
    /// requests it is answering, this scrape included (as Prometheus's own
    /// `promhttp_metric_handler_requests_in_flight` counts itself).
    public static func requestsInFlight(_ count: Int) -> String {
        "# HELP cloister_serve_requests_in_flight Requests cloister serve is answering, this scrape included.\n"
            + "# TYPE cloister_serve_requests_in_flight gauge\n"
            + "cloister_serve_requests_in_flight \(count)\n"
    }

    public static func render(_ report: ScanReport?, statistics: ScanStatistics) -> String {
        var out = ""
        out.reserveCapacity(4096 + (report?.workloads.count ?? 0) * 256)
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n"
        }

        family("cloister_scans_total", "counter", "Scans completed since cloister serve started.")
        out += "cloister_scans_total \(statistics.scans)\n"
        family("cloister_scan_errors_total", "counter", "Scans that failed (no report) since cloister serve started.")
        out += "cloister_scan_errors_total \(statistics.errors)\n"
        if let duration = statistics.lastDuration {
            family("cloister_scan_duration_seconds", "gauge", "How long the last completed scan took.")
            out += "cloister_scan_duration_seconds \(number(duration))\n"
        }
        if let completion = statistics.lastCompletion {
            family("cloister_last_scan_timestamp_seconds", "gauge", "Unix time the last completed scan finished.")
            out += "cloister_last_scan_timestamp_seconds \(number(completion))\n"
        }
        guard let report else { return out }

        family("cloister_scan_issues", "gauge", "Problems the last scan met that did not stop it (see /scan).")
        out += "cloister_scan_issues \(report.issues.count)\n"
        family("cloister_workloads", "gauge", "Workloads the last scan found.")
        out += "cloister_workloads \(report.workloads.count)\n"

        family("cloister_workload_exposure_score", "gauge", "Exposure score of a workload, 0.0 (confined) to 10.0 (exposed).")
        for posture in report.workloads {
            guard let exposure = posture.exposure else { continue }
            out += "cloister_workload_exposure_score\(workloadLabels(posture)) \(number(exposure.score))\n"
        }

        // Findings per workload and severity, every severity present (zero included) so a
        // query for "critical" on a clean workload returns 0 rather than nothing.
        var perWorkload: [String: [Severity: Int]] = [:]
        var perRule: [RuleKey: Int] = [:]
        for finding in report.findings where finding.accepted == nil {
            perWorkload[finding.workload, default: [:]][finding.severity, default: 0] += 1
            perRule[RuleKey(rule: finding.rule, severity: finding.severity), default: 0] += 1
        }
        family("cloister_workload_findings", "gauge", "Findings (not accepted by the baseline) of a workload, by severity.")
        for posture in report.workloads {
            let counts = perWorkload[posture.id] ?? [:]
            for severity in Severity.allCases {
                out += "cloister_workload_findings\(workloadLabels(posture, extra: [("severity", severity.rawValue)])) \(counts[severity] ?? 0)\n"
            }
        }
        family("cloister_findings", "gauge", "Findings (not accepted by the baseline) on this host, by rule and severity.")
        for (key, count) in perRule.sorted(by: { ($0.key.rule, $0.key.severity.rank) < ($1.key.rule, $1.key.severity.rank) }) {
            out += "cloister_findings{rule=\"\(escapeLabel(key.rule))\",severity=\"\(key.severity.rawValue)\"} \(count)\n"
        }
        let accepted = report.findings.filter { $0.accepted != nil }.count
        family("cloister_findings_accepted", "gauge", "Findings the baseline accepts.")
        out += "cloister_findings_accepted \(accepted)\n"
        return out
    }

    struct RuleKey: Hashable {
        var rule: String
        var severity: Severity
    }

    static func workloadLabels(_ posture: Posture, extra: [(String, String)] = []) -> String {
        var labels = [
            ("runtime", posture.runtime), ("kind", posture.kind.rawValue), ("name", posture.name), ("id", posture.id),
        ]
        labels += extra
        return "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Label values: `\` → `\\`, `"` → `\"`, newline → `\n`; other control characters → U+FFFD.
    public static func escapeLabel(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// HELP text: `\` → `\\`, newline → `\n`.
    static func escapeHelp(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}

import Foundation
import CloisterModel

/// The terminal table. Every cell from a workload goes through `SafeText.forTerminal`.
enum TableRenderer {
    static func render(_ report: ScanReport) -> String {
        var output = ""
        let workloadRows = report.workloads.map { posture -> [String] in
            let exposure = posture.exposure.map { "\(String(format: "%.1f", $0.score)) \($0.level)" } ?? "-"
            let count = report.findings.filter { $0.workload == posture.id && $0.accepted == nil }.count
            return [posture.id, posture.kind.rawValue, posture.runtime, posture.name, exposure, String(count)]
        }
        output += table(header: ["WORKLOAD", "KIND", "RUNTIME", "NAME", "EXPOSURE", "FINDINGS"], rows: workloadRows)
        output += "\n"
        if report.findings.isEmpty {
            output += "No findings.\n"
        } else {
            let rows = report.findings.map { finding -> [String] in
                let severity = finding.accepted == nil ? finding.severity.rawValue : "\(finding.severity.rawValue) (accepted)"
                return [severity, finding.rule, finding.workload, finding.message]
            }
            output += table(header: ["SEVERITY", "RULE", "WORKLOAD", "MESSAGE"], rows: rows)
        }
        for issue in report.issues {
            output += "warning: " + Escape.terminal(issue.message) + "\n"
        }
        return output
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let safeRows = rows.map { $0.map(Escape.terminal) }
        var widths = header.map(\.count)
        for row in safeRows {
            for (index, cell) in row.enumerated() where index < widths.count - 1 {
                widths[index] = max(widths[index], min(cell.count, 48))
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                if index == cells.count - 1 {
                    text += cell
                } else {
                    text += cell + String(repeating: " ", count: max(widths[index] - cell.count, 0) + 2)
                }
            }
            return text + "\n"
        }
        return line(header) + safeRows.map(line).joined()
    }
}

import CloisterModel

/// Decides the exit code of `scan` and `check`: 0 clean, 1 failed the gate. (2, usage or input
/// error, is the caller's: map `InputFileError`/`InputFileErrors` to it.)
public struct Gate: Sendable {
    public static let clean: Int32 = 0
    public static let failed: Int32 = 1
    public static let usageOrInputError: Int32 = 2

    /// Findings at or above this severity fail the gate (accepted findings never do).
    public var failOn: Severity?
    /// A workload whose exposure score is above this fails the gate.
    public var maxExposure: Double?
    /// The Pod Security Standards level whose violations fail the gate (`--pss`).
    public var podSecurity: PodSecuritySetting?

    public init(failOn: Severity? = nil, maxExposure: Double? = nil, podSecurity: PodSecuritySetting? = nil) {
        self.failOn = failOn
        self.maxExposure = maxExposure
        self.podSecurity = podSecurity
    }

    public struct Result: Sendable, Equatable {
        public var passed: Bool
        /// Why it failed, one sentence a line.
        public var reasons: [String]
    }

    public func evaluate(findings: [Finding], postures: [Posture]) -> Result {
        var reasons: [String] = []
        if let failOn {
            let failing = findings.filter { $0.accepted == nil && $0.severity >= failOn }
            if !failing.isEmpty {
                let worst = failing.map(\.severity).max() ?? failOn
                reasons.append("\(failing.count) finding(s) at or above \(failOn.rawValue) (worst: \(worst.rawValue))")
            }
        }
        if let podSecurity, let policy = podSecurity.policy {
            let violating = findings.filter { $0.accepted == nil && podSecurity.enforces(rule: $0.rule) }
            if !violating.isEmpty {
                let workloads = Set(violating.map(\.workload)).count
                reasons.append("\(violating.count) finding(s) on \(workloads) workload(s) violate PodSecurity \"\(policy)\"")
            }
        }
        if let maxExposure {
            for posture in postures {
                guard let exposure = posture.exposure else {
                    reasons.append("\(posture.id) has no exposure score, so it cannot be shown to be under \(maxExposure)")
                    continue
                }
                if exposure.score > maxExposure + 1e-9 {
                    reasons.append("\(posture.id) scores \(exposure.score) (\(exposure.level)), above --max-exposure \(maxExposure)")
                }
            }
        }
        return Result(passed: reasons.isEmpty, reasons: reasons)
    }

    public func exitCode(findings: [Finding], postures: [Posture]) -> Int32 {
        evaluate(findings: findings, postures: postures).passed ? Self.clean : Self.failed
    }

    /// Parses `--max-exposure`: a number from 0 to 10.
    public static func parseMaxExposure(_ text: String) -> Double? {
        guard let value = Double(text), value.isFinite, (0...10).contains(value) else { return nil }
        return value
    }
}

import CloisterModel
import CloisterRules
import Foundation

/// An input the pipeline cannot work with: no rules or policy found, a rule, policy or baseline
/// file that is invalid (named with its line), or a host tree that cannot be scanned. Its text
/// reads as a sentence for the user; the commands exit 2 on it.
public struct PipelineInputError: Error, CustomStringConvertible, LocalizedError {
    public var description: String

    public init(_ description: String) { self.description = description }

    public var errorDescription: String? { description }
}

/// How postures are judged and what fails the gate, as `scan`, `check` and `serve` take it:
/// rules, exposure weights and baseline by path (nil: the default lookup), and the gate's bounds.
public struct AssessmentSettings: Sendable, Equatable {
    public var rules: String?
    public var policy: String?
    public var baseline: String?
    /// Fails the gate at a finding at or above this severity that the baseline does not accept.
    public var failOn: Severity?
    /// Fails the gate at a workload whose exposure score is above this.
    public var maxExposure: Double?
    /// How the Pod Security Standards judge Kubernetes pods (`check --pss`); `scan` has no pod
    /// specs, so it never loads them.
    public var podSecurity: PodSecuritySetting

    public init(
        rules: String? = nil, policy: String? = nil, baseline: String? = nil, failOn: Severity? = nil,
        maxExposure: Double? = nil, podSecurity: PodSecuritySetting = .reportOnly
    ) {
        self.podSecurity = podSecurity
        self.rules = rules
        self.policy = policy
        self.baseline = baseline
        self.failOn = failOn
        self.maxExposure = maxExposure
    }

    /// Loads the rule pack, exposure weights and baseline; a missing or invalid file is a
    /// `PipelineInputError` naming the file and line.
    public func loadJudges(podSpecs: Bool = false) throws -> Judges {
        guard let rulesDirectory = CloisterResources.rulesDirectory(explicit: rules) else {
            throw PipelineInputError("no rules directory found: pass --rules DIR or set CLOISTER_RULES")
        }
        guard let policyPath = CloisterResources.exposurePolicy(explicit: policy, rulesDirectory: rulesDirectory) else {
            throw PipelineInputError("no exposure policy found: pass --policy FILE or set CLOISTER_POLICY")
        }
        do {
            let pack = try RulePack.load(directory: rulesDirectory, includeCases: false)
            let weights = try ExposurePolicy.load(path: policyPath)
            let accepted = try baseline.map { try Baseline.load(path: $0) }
            var judges = Judges(pack: pack, weights: weights, baseline: accepted)
            judges.advisories = try loadHostAdvisories(rulesDirectory: rulesDirectory)
            judges.hostRules = try loadHostFile(HostConfigurationRules.relativePath, rulesDirectory: rulesDirectory)
                .map { try HostConfigurationRules.load(path: $0) }
            if podSpecs, podSecurity.enabled {
                let standards = try loadPodSecurityStandards(rulesDirectory: rulesDirectory)
                judges.podSecurity = standards
                judges.pack.standards = standards.rules
            }
            return judges
        } catch let error as InputFileError {
            throw PipelineInputError(error.description)
        } catch let error as InputFileErrors {
            throw PipelineInputError(error.errorDescription ?? "invalid input files")
        }
    }

    /// The standard's data: `pss/pod-security-standards.yaml` in the rules directory, else in
    /// the rules shipped beside cloister (a custom rules directory need not copy it).
    func loadPodSecurityStandards(rulesDirectory: String) throws -> PodSecurityStandards {
        let candidates = [rulesDirectory, CloisterResources.rulesDirectory(explicit: nil)].compactMap { $0 }
            .map { (($0 as NSString).appendingPathComponent(PodSecurityStandards.relativePath)) }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw PipelineInputError(
                "no Pod Security Standards data (\(PodSecurityStandards.relativePath)) in \(rulesDirectory) or beside cloister: restore it, or pass --pss none")
        }
        return try PodSecurityStandards.load(path: path)
    }

    /// The CVE advisories judged against the host's packages: `host/advisories.yaml` in the
    /// rules directory, else beside cloister; nil (no host advisories judged) when neither has it.
    func loadHostAdvisories(rulesDirectory: String) throws -> HostAdvisories? {
        try loadHostFile(HostAdvisories.relativePath, rulesDirectory: rulesDirectory).map { try HostAdvisories.load(path: $0) }
    }

    /// A host data file in the rules directory, else beside cloister.
    func loadHostFile(_ relativePath: String, rulesDirectory: String) -> String? {
        let candidates = [rulesDirectory, CloisterResources.rulesDirectory(explicit: nil)].compactMap { $0 }
            .map { (($0 as NSString).appendingPathComponent(relativePath)) }
        return candidates.first(where: { FileManager.default.fileExists(atPath: $0) })
    }

    /// The gate these settings describe.
    public var gate: Gate { Gate(failOn: failOn, maxExposure: maxExposure, podSecurity: podSecurity) }
}

/// What judges postures: the rule pack, the exposure weights and the accepted findings.
public struct Judges: Sendable {
    public var pack: RulePack
    public var weights: ExposurePolicy
    public var baseline: Baseline?
    /// An engine already built from `pack`: building one compiles every rule, so `serve`
    /// shares its admission judge's engine with every rescan. Nil: built for each assessment.
    public var engine: RuleEngine?
    /// The Pod Security Standards, when Kubernetes pods are judged.
    public var podSecurity: PodSecurityStandards?
    /// The CVE advisories a scan judges the host's installed packages by.
    public var advisories: HostAdvisories?
    /// The host configuration rules a scan judges the daemons' settings and files by.
    public var hostRules: HostConfigurationRules?

    public init(pack: RulePack, weights: ExposurePolicy, baseline: Baseline? = nil, engine: RuleEngine? = nil) {
        self.pack = pack
        self.weights = weights
        self.baseline = baseline
        self.engine = engine
    }

    /// The assessment step `scan`, `check` and `serve` share: scores each posture's exposure,
    /// applies the rules and marks the findings the baseline accepts.
    /// `memory`: the last assessment by these judges (rescans), whose unchanged postures are
    /// not judged again.
    public func assess(_ postures: [Posture], memory: AssessmentMemory? = nil) -> Assessment {
        Assessment(postures: postures, engine: engine ?? RuleEngine(pack: pack), policy: weights, baseline: baseline, memory: memory)
    }
}

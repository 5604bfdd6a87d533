import CloisterModel
import Foundation
import Yams

// CVE rules as data (rules/host/advisories.yaml): each advisory names the component it concerns,
// the upstream versions it affects (per release branch) and, where a distribution backports the
// fix into an older version, that distribution's fixed package version from its security
// tracker. A host is judged from its package database (HostFacts.inventory): affected only
// inside a range, undecided (never fired) where the version cannot be read or the data cannot
// decide it. Host findings are not workload findings: they carry `workload: "host"`.

/// The advisories the scanner knows, read from `rules/host/advisories.yaml`.
public struct HostAdvisories: Sendable {
    public static let supportedVersion = 1
    /// Where the data sits in a rules directory.
    public static let relativePath = "host/advisories.yaml"
    /// The `workload` of a host finding: no posture has this id (postures are `runtime:id`).
    public static let hostWorkload = "host"

    public struct Range: Sendable, Equatable {
        /// First affected version; nil: every earlier version.
        public var introduced: String?
        /// First version with the fix.
        public var fixed: String
    }

    /// A distribution's own fix, from its security tracker.
    public struct DistributionFix: Sendable, Equatable {
        /// `debian`, with `release` its VERSION_ID (`12`).
        public var distribution: String
        public var release: String
        /// The distribution's source or binary package the fix is in (`runc`, `docker.io`).
        public var packages: [String]
        /// The fixed package version; nil when the tracker lists no fix for that release yet.
        public var fixed: String?
        public var source: String
        public var note: String?
    }

    /// Versions where the advisory's sources do not decide (a gap between their ranges, or one
    /// range lumping branches whose own fixes the record does not give): undecided, never fired.
    public struct UndecidedRange: Sendable, Equatable {
        public var introduced: String
        /// First version past the gap.
        public var before: String
        public var why: String
    }

    /// What exploiting the flaw from a container needs beyond the affected version.
    public struct Condition: Sendable, Equatable {
        /// The HostFacts field that tells it (`unprivilegedUserNamespaces`); nil when the host
        /// facts carry nothing that decides it (then it is only stated).
        public var fact: String?
        public var text: String
        /// The severity when the host fact shows the condition unmet.
        public var severityWithout: Severity?

        /// The facts the scanner reads that a condition may name.
        public static let knownFacts = ["unprivilegedUserNamespaces"]

        public func met(on host: HostFacts?) -> Bool? {
            switch fact {
            case "unprivilegedUserNamespaces": return host?.unprivilegedUserNamespaces
            default: return nil
            }
        }
    }

    public struct Advisory: Sendable, Equatable {
        public var id: String
        public var component: String
        public var severity: Severity
        public var title: String
        public var ranges: [Range]
        /// False when the ranges cover only the branches the advisory's sources confirm: a
        /// version outside them but older than the newest fix is then undecided, not clean.
        public var rangesComplete: Bool
        /// Packages built by the project itself (Docker's `docker-ce`, NVIDIA's): their version
        /// is the upstream version, with no backport to consider.
        public var upstreamPackages: [String]
        public var distributions: [DistributionFix]
        public var undecidedRanges: [UndecidedRange] = []
        public var condition: Condition?
        /// Where the figures came from, in words.
        public var note: String?
        public var remediation: String
        public var urls: [String]
        public var line: Int?

        public var ruleID: String { "host-" + id.lowercased() }
    }

    public var advisories: [Advisory]
    public var file: String

    // MARK: Judging

    /// Each advisory against every installed package of its component; the kernel's against the
    /// running kernel (`host.kernelBuild`), not its package database.
    public func judge(_ inventory: SoftwareInventory, host: HostFacts? = nil) -> [AdvisoryVerdict] {
        var verdicts: [AdvisoryVerdict] = []
        for advisory in advisories {
            if advisory.component == Self.kernelComponent {
                var verdict = Self.judgeKernel(advisory, build: host?.kernelBuild)
                if let condition = advisory.condition {
                    verdict.condition = condition.text
                    verdict.conditionMet = condition.met(on: host)
                }
                verdicts.append(verdict)
                continue
            }
            let installed = inventory.installed(advisory.component).filter { $0.package != nil }
            if installed.isEmpty {
                if let why = inventory.unknown[advisory.component] ?? inventory.unknown["packages"] {
                    verdicts.append(AdvisoryVerdict(
                        advisory: advisory.id, component: advisory.component, status: .undecided,
                        reason: "the installed version of \(advisory.component) cannot be read: \(why)"))
                } else {
                    verdicts.append(AdvisoryVerdict(
                        advisory: advisory.id, component: advisory.component, status: .notInstalled,
                        reason: "no package of \(advisory.component) is installed (\(inventory.packageManager ?? "no") package database)"))
                }
                continue
            }
            for component in installed {
                verdicts.append(Self.judge(advisory, component, inventory: inventory))
            }
        }
        return verdicts
    }

    static func judge(_ advisory: Advisory, _ component: InstalledComponent, inventory: SoftwareInventory) -> AdvisoryVerdict {
        var verdict = AdvisoryVerdict(
            advisory: advisory.id, component: advisory.component, status: .undecided, package: component.package,
            installed: component.version, reason: "")
        let package = component.package ?? ""
        let upstreamText: String
        if component.source == "dpkg" {
            guard let parsed = DebianVersion(component.version) else {
                verdict.reason = "the version \(component.version) of \(package) is not a Debian version"
                return verdict
            }
            upstreamText = parsed.upstream
            // The distribution's own package, and its tracker has data for this release.
            if !advisory.upstreamPackages.contains(package),
                let fix = advisory.distributions.first(where: {
                    $0.distribution == inventory.distribution && $0.release == inventory.distributionVersion
                        && $0.packages.contains(package)
                })
            {
                if let fixedText = fix.fixed, let fixed = DebianVersion(fixedText) {
                    verdict.fixed = fixedText
                    let affected = parsed < fixed
                    verdict.status = affected ? .affected : .notAffected
                    verdict.reason = affected
                        ? "\(package) \(component.version) is older than \(fixedText), where \(fix.distribution) \(fix.release) fixed it (\(fix.source))"
                        : "\(package) \(component.version) has \(fix.distribution) \(fix.release)'s fix (\(fixedText), \(fix.source))"
                    return verdict
                }
                // No fix in that release: the upstream range decides, since nothing was backported.
                let decided = judgeUpstream(advisory, upstream: parsed.upstream, package: package)
                verdict.status = decided.status
                verdict.fixed = decided.fixed
                verdict.reason = decided.reason + "; \(fix.distribution) \(fix.release) has no fixed package"
                    + (fix.note.map { " (\($0))" } ?? "") + " (\(fix.source))"
                return verdict
            }
        } else if component.source == "apk" {
            // `1.1.12-r4`: the upstream version, then Alpine's package release.
            if let dash = component.version.range(of: "-r", options: .backwards) {
                upstreamText = String(component.version[..<dash.lowerBound])
            } else {
                upstreamText = component.version
            }
        } else {
            verdict.reason = "\(package) was not read from a package database"
            return verdict
        }
        let decided = judgeUpstream(advisory, upstream: upstreamText, package: package)
        verdict.fixed = decided.fixed
        verdict.reason = decided.reason
        verdict.status = decided.status
        // A distribution's own build inside the upstream range may carry a backported fix that
        // cloister has no data for: undecided, not affected.
        if decided.status == .affected, !advisory.upstreamPackages.contains(package) {
            verdict.status = .undecided
            verdict.reason = decided.reason
                + "; \(package) is \(inventory.distribution ?? "the distribution")'s build, which may carry a backported fix that the advisory data does not cover"
        }
        return verdict
    }

    public static let kernelComponent = "kernel"

    /// The running kernel: Debian's package version against Debian's fixed version for that
    /// branch where the data has one, else its upstream version against the ranges (affected
    /// there is undecided, since Debian may ship a fix before the upstream stable release);
    /// a vanilla release against the ranges; anything else undecided with why.
    static func judgeKernel(_ advisory: Advisory, build: KernelBuild?) -> AdvisoryVerdict {
        var verdict = AdvisoryVerdict(advisory: advisory.id, component: advisory.component, status: .undecided, reason: "")
        guard let build else {
            verdict.reason = "the running kernel's version was not read"
            return verdict
        }
        verdict.installed = build.packageVersion ?? build.release
        switch build.kind {
        case .unknown:
            var reason = build.reason
            if let base = build.base {
                let upstream = judgeUpstream(advisory, upstream: base, package: "kernel")
                let verb: String
                switch upstream.status {
                case .affected: verb = "would be affected"
                case .notAffected: verb = "would not be affected"
                default: verb = "would be undecided"
                }
                reason += "; upstream \(base) \(verb) (\(upstream.reason)), but this build is not upstream's"
            }
            verdict.reason = reason
            return verdict
        case .vanilla:
            verdict.package = "kernel"
            let decided = judgeUpstream(advisory, upstream: build.upstream ?? "", package: "kernel \(build.release ?? "")")
            verdict.status = decided.status
            verdict.fixed = decided.fixed
            verdict.reason = decided.reason + " (a vanilla kernel: \(build.reason))"
            return verdict
        case .debian:
            verdict.package = "linux"
            guard let packageText = build.packageVersion, let package = DebianVersion(packageText),
                let branch = KernelBuild.branch(of: package.upstream)
            else {
                verdict.reason = "Debian's kernel package version cannot be compared"
                return verdict
            }
            // The entry for this branch, and for the release the package was built for where its
            // version names one (bullseye's linux-6.1 is `6.1.76-1~deb11u1`, not bookworm's 6.1.76-1).
            let target = debianTargetRelease(packageText)
            if let fix = advisory.distributions.first(where: { fix in
                fix.distribution == "debian" && fix.packages.contains("linux") && (target == nil || target == fix.release)
                    && fix.fixed.flatMap(DebianVersion.init).map { KernelBuild.branch(of: $0.upstream) == branch } == true
            }), let fixedText = fix.fixed, let fixed = DebianVersion(fixedText) {
                verdict.fixed = fixedText
                let affected = package < fixed
                verdict.status = affected ? .affected : .notAffected
                verdict.reason = affected
                    ? "Debian's linux \(packageText) is older than \(fixedText), where Debian \(fix.release) fixed the \(branch) branch (\(fix.source))"
                    : "Debian's linux \(packageText) has Debian \(fix.release)'s fix (\(fixedText), \(fix.source))"
                return verdict
            }
            let decided = judgeUpstream(advisory, upstream: package.upstream, package: "Debian's linux \(packageText)")
            verdict.fixed = decided.fixed
            switch decided.status {
            case .affected:
                verdict.status = .undecided
                verdict.reason = decided.reason
                    + "; the advisory data has no Debian fixed version for the \(branch) branch, and Debian may ship the fix before upstream's stable release"
            default:
                verdict.status = decided.status
                verdict.reason = decided.reason + " (Debian's kernel carries upstream's stable releases up to its upstream version)"
            }
            return verdict
        }
    }

    /// The Debian release a package version was built for, where it says (`~deb11u1`, `+deb12u2`,
    /// `~bpo12+1`); nil for an unmarked version (`6.1.119-1`).
    static func debianTargetRelease(_ version: String) -> String? {
        for marker in ["deb", "bpo"] {
            var rest = Substring(version)
            while let range = rest.range(of: marker) {
                let digits = rest[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
                if !digits.isEmpty { return String(digits) }
                rest = rest[range.upperBound...]
            }
        }
        return nil
    }

    static func judgeUpstream(_ advisory: Advisory, upstream: String, package: String)
        -> (status: AdvisoryVerdict.Status, fixed: String?, reason: String)
    {
        guard let version = UpstreamVersion.debianForm(upstream) else {
            return (.undecided, nil, "the upstream version \(upstream) of \(package) cannot be compared")
        }
        for range in advisory.ranges {
            guard let fixed = UpstreamVersion.debianForm(range.fixed) else { continue }
            let introduced = range.introduced.flatMap(UpstreamVersion.debianForm)
            if version < fixed, introduced.map({ version >= $0 }) ?? true {
                let from = range.introduced.map { "from \($0) " } ?? ""
                return (.affected, range.fixed, "upstream \(upstream) is in the affected range \(from)before \(range.fixed)")
            }
        }
        for gap in advisory.undecidedRanges {
            guard let from = UpstreamVersion.debianForm(gap.introduced), let before = UpstreamVersion.debianForm(gap.before) else { continue }
            if version >= from, version < before {
                return (.undecided, nil, "upstream \(upstream) lies where the sources do not decide (\(gap.introduced) to \(gap.before)): \(gap.why)")
            }
        }
        let newest = advisory.ranges.compactMap { UpstreamVersion.debianForm($0.fixed) }.max()
        if !advisory.rangesComplete, let newest, version < newest {
            return (.undecided, nil, "upstream \(upstream) is on a branch the advisory's sources do not cover")
        }
        return (.notAffected, nil, "upstream \(upstream) is outside every affected range")
    }

    /// The findings for the affected verdicts: one per advisory and package, on the host.
    public func findings(_ verdicts: [AdvisoryVerdict]) -> [Finding] {
        verdicts.compactMap { verdict in
            guard verdict.status == .affected, let advisory = advisories.first(where: { $0.id == verdict.advisory }) else {
                return nil
            }
            var evidence: [String: String]
            if advisory.component == Self.kernelComponent {
                // The running kernel, not a package database entry: Debian's package version or the vanilla release.
                evidence = [verdict.package == "linux" ? "host.kernelBuild.packageVersion" : "host.kernelBuild.release": verdict.installed ?? ""]
            } else {
                evidence = ["inventory.\(verdict.component).version": verdict.installed ?? ""]
                if let package = verdict.package { evidence["inventory.\(verdict.component).package"] = package }
            }
            if let fixed = verdict.fixed { evidence["fixedIn"] = fixed }
            var references = [Reference(source: "cve", id: advisory.id, url: "https://www.cve.org/CVERecord?id=\(advisory.id)")]
            references += advisory.urls.map { Reference(source: "url", id: $0, url: $0) }
            var severity = advisory.severity
            var message = "\(advisory.title): \(verdict.package ?? advisory.component) \(verdict.installed ?? "") is affected (\(verdict.reason))"
            if let condition = advisory.condition {
                switch (condition.fact, verdict.conditionMet) {
                case (let fact?, true?):
                    evidence["host.\(fact)"] = "true"
                    message += "; from a container: \(condition.text); this host meets that (\(fact) is true)"
                case (let fact?, false?):
                    evidence["host.\(fact)"] = "false"
                    severity = condition.severityWithout ?? severity
                    message += "; from a container: \(condition.text); this host does not (\(fact) is false), so only a container already holding those privileges reaches it"
                default:
                    message += "; from a container: \(condition.text)"
                }
            }
            return Finding(
                rule: advisory.ruleID, severity: severity, workload: Self.hostWorkload,
                message: message, evidence: evidence, references: references)
        }
    }

    // MARK: Reading

    public static func parse(yaml text: String, file: String) throws -> HostAdvisories {
        let (root, problems) = try YAMLFile.open(text, file: file, known: supportedVersion, what: "advisory")
        var result = HostAdvisories(advisories: [], file: file)
        for pair in root.pairs {
            switch pair.key {
            case "version": break
            case "advisories":
                for item in pair.value.items {
                    if let advisory = parseAdvisory(item, fail: problems.fail) { result.advisories.append(advisory) }
                }
            default: problems.fail(pair.keyNode, "unknown key `\(pair.key)` (version, advisories)")
            }
        }
        let ids = result.advisories.map(\.id)
        for advisory in result.advisories where ids.filter({ $0 == advisory.id }).count > 1 {
            problems.errors.append(InputFileError(file: file, line: advisory.line, message: "advisory `\(advisory.id)` is listed twice"))
        }
        try problems.throwIfAny()
        return result
    }

    static func parseAdvisory(_ node: Node, fail: (Node?, String) -> Void) -> Advisory? {
        var values: [String: String] = [:]
        var ranges: [Range] = []
        var distributions: [DistributionFix] = []
        var urls: [String] = []
        var upstreamPackages: [String] = []
        var undecidedRanges: [UndecidedRange] = []
        var condition: Condition?
        var complete = true
        for pair in node.pairs {
            switch pair.key {
            case "id", "component", "severity", "title", "remediation", "note": values[pair.key] = pair.value.string
            case "undecided":
                for item in pair.value.items {
                    var fields: [String: String] = [:]
                    for field in item.pairs {
                        switch field.key {
                        case "introduced", "before", "why": fields[field.key] = field.value.string
                        default: fail(field.keyNode, "unknown key `\(field.key)` in an undecided range (introduced, before, why)")
                        }
                    }
                    if let introduced = fields["introduced"], let before = fields["before"], let why = fields["why"],
                        UpstreamVersion.debianForm(introduced) != nil, UpstreamVersion.debianForm(before) != nil
                    {
                        undecidedRanges.append(UndecidedRange(introduced: introduced, before: before, why: why))
                    } else {
                        fail(item, "an undecided range needs `introduced` and `before` (versions) and `why`")
                    }
                }
            case "condition":
                var fields: [String: String] = [:]
                for field in pair.value.pairs {
                    switch field.key {
                    case "fact", "text", "severityWithout": fields[field.key] = field.value.string
                    default: fail(field.keyNode, "unknown key `\(field.key)` in a condition (fact, text, severityWithout)")
                    }
                }
                let severityWithout = fields["severityWithout"].flatMap(Severity.init(rawValue:))
                if let text = fields["text"], fields["fact"].map(Condition.knownFacts.contains) ?? true,
                    fields["severityWithout"] == nil || severityWithout != nil
                {
                    condition = Condition(fact: fields["fact"], text: text, severityWithout: severityWithout)
                } else {
                    fail(pair.value, "a condition needs `text`, a `fact` of \(Condition.knownFacts.joined(separator: ", ")) if any, and a valid `severityWithout` if any")
                }
            case "rangesComplete": complete = pair.value.string.flatMap(Node.yamlBool) ?? true
            case "upstreamPackages": upstreamPackages = pair.value.items.compactMap(\.string)
            case "urls": urls = pair.value.items.compactMap(\.string)
            case "affected":
                for item in pair.value.items {
                    var range = Range(introduced: nil, fixed: "")
                    for field in item.pairs {
                        switch field.key {
                        case "introduced": range.introduced = field.value.string
                        case "fixed": range.fixed = field.value.string ?? ""
                        default: fail(field.keyNode, "unknown key `\(field.key)` in a range (introduced, fixed)")
                        }
                    }
                    if UpstreamVersion.debianForm(range.fixed) == nil
                        || range.introduced.map({ UpstreamVersion.debianForm($0) == nil }) == true
                    {
                        fail(item, "a range needs `fixed` (and may have `introduced`), each a version")
                    } else {
                        ranges.append(range)
                    }
                }
            case "distributions":
                for item in pair.value.items {
                    var fix = DistributionFix(distribution: "", release: "", packages: [], fixed: nil, source: "")
                    for field in item.pairs {
                        switch field.key {
                        case "distribution": fix.distribution = field.value.string ?? ""
                        case "release": fix.release = field.value.string ?? ""
                        case "packages": fix.packages = field.value.items.compactMap(\.string)
                        case "fixed": fix.fixed = field.value.string
                        case "source": fix.source = field.value.string ?? ""
                        case "note": fix.note = field.value.string
                        default: fail(field.keyNode, "unknown key `\(field.key)` in a distribution fix")
                        }
                    }
                    if fix.distribution.isEmpty || fix.release.isEmpty || fix.packages.isEmpty || fix.source.isEmpty
                        || fix.fixed.map({ DebianVersion($0) == nil }) == true
                    {
                        fail(item, "a distribution fix needs distribution, release, packages, source and a valid `fixed` if any")
                    } else {
                        distributions.append(fix)
                    }
                }
            default: fail(pair.keyNode, "unknown key `\(pair.key)` in an advisory")
            }
        }
        guard let id = values["id"], id.hasPrefix("CVE-"), let component = values["component"],
            let severity = values["severity"].flatMap(Severity.init(rawValue:)), let title = values["title"]
        else {
            fail(node, "an advisory needs id (CVE-…), component, severity and title")
            return nil
        }
        guard !ranges.isEmpty else {
            fail(node, "advisory `\(id)` has no `affected` ranges")
            return nil
        }
        guard urls.contains(where: { $0.hasPrefix("https://") }) else {
            fail(node, "advisory `\(id)` cites no source (`urls`)")
            return nil
        }
        return Advisory(
            id: id, component: component, severity: severity, title: title, ranges: ranges, rangesComplete: complete,
            upstreamPackages: upstreamPackages, distributions: distributions, undecidedRanges: undecidedRanges,
            condition: condition, note: values["note"], remediation: values["remediation"] ?? "",
            urls: urls, line: node.mark.map { $0.line })
    }
}

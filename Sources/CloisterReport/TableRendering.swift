import CloisterCodec
import CloisterModel

/// The terminal view: one line a workload, everything from workloads escaped.
public enum TableRendering {
    /// `heading` replaces the host line (for `check`, whose postures are declared, not observed
    /// on this host).
    public static func scan(_ report: ScanReport, verbose: Bool, heading: String? = nil) -> String {
        var lines: [String] = []
        let host = report.host
        let lsms = host.lsms.map { $0.isEmpty ? "none" : $0.joined(separator: ",") } ?? "unknown"
        lines.append(
            heading.map(esc) ??
            "host \(esc(host.hostname ?? "?"))  kernel \(esc(host.kernel ?? "?"))  lsm \(esc(lsms))  cgroup \(host.cgroupVersion ?? "?")  kvm \(host.kvm.usable ? "usable" : (host.kvm.present ? "present, unusable" : "absent"))"
        )
        lines.append("")
        let header = [
            "KIND", "RUNTIME", "NAME", "PID", "USERNS", "ROOT", "CAPS", "SECCOMP", "NNP", "MAC", "RO-ROOT", "FINDINGS",
            "EXPOSURE",
        ]
        var open: [String: Int] = [:]
        for finding in report.findings where finding.accepted == nil { open[finding.workload, default: 0] += 1 }
        // Kubernetes pods: the Pod Security Standards level each meets, in its own column.
        let podSecurity = report.workloads.contains { $0.kubernetes?.podSecurity != nil }
        var rows: [[String]] = [podSecurity ? header + ["PSS"] : header]
        for posture in report.workloads {
            let level = podSecurity ? [posture.kubernetes?.podSecurity?.level ?? "-"] : []
            rows.append([
                posture.kind.rawValue, esc(posture.runtime), esc(clip(posture.name, 28)), posture.pid.map(String.init) ?? "-",
                posture.namespaces.user.map { $0 == .private ? "private" : "host" } ?? "?",
                posture.user.rootMappedToHost.map { $0 ? "host-root" : "mapped" } ?? "?",
                capabilitySummary(posture),
                posture.seccomp.map { $0.mode.rawValue } ?? "?",
                posture.noNewPrivileges.map { $0 ? "yes" : "no" } ?? "?",
                macSummary(posture.mac),
                posture.readOnlyRootfs.map { $0 ? "yes" : "no" } ?? "?",
                String(open[posture.id] ?? 0),
                posture.exposure.map { "\(formatScore($0.score)) \($0.level)" } ?? "-",
            ] + level)
        }
        lines.append(contentsOf: align(rows))
        if report.workloads.isEmpty { lines.append("(no containers, sandboxes or VMs found)") }

        if verbose {
            for posture in report.workloads { lines.append(""); lines.append(contentsOf: details(posture)) }
        }
        if !report.findings.isEmpty {
            lines.append("")
            lines.append("findings:")
            let names = Dictionary(report.workloads.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            let ordered = report.findings.enumerated().sorted {
                ($0.element.accepted == nil ? 0 : 1, -$0.element.severity.rank, $0.offset)
                    < ($1.element.accepted == nil ? 0 : 1, -$1.element.severity.rank, $1.offset)
            }
            for (_, finding) in ordered {
                let severity = finding.severity.rawValue.uppercased() + (finding.accepted == nil ? "" : " (accepted)")
                let workload = names[finding.workload] ?? finding.workload
                lines.append("  \(severity) \(esc(finding.rule)) [\(esc(workload))]: \(esc(finding.message))")
                if let location = finding.location {
                    let place = location.file + (location.line.map { ":\($0)" } ?? "")
                    lines.append("      at \(esc(place))\(location.path.map { " (\(esc($0)))" } ?? "")")
                }
                if let accepted = finding.accepted { lines.append("      accepted: \(esc(accepted))") }
            }
        }
        for issue in report.issues {
            lines.append("note: \(issue.pid.map { "PID \($0): " } ?? "")\(esc(issue.message))")
        }
        return lines.joined(separator: "\n")
    }

    static func details(_ posture: Posture) -> [String] {
        var lines = ["\(esc(posture.id)) (\(posture.kind.rawValue), \(esc(posture.runtime))) \"\(esc(posture.name))\""]
        func add(_ key: String, _ value: String) { lines.append("  \(key): \(value)") }
        add("processes", posture.processes.map(String.init).joined(separator: " "))
        add("command", esc(clip(posture.command.joined(separator: " "), 200)))
        add("namespaces", NamespaceType.allCases.map { "\($0.rawValue)=\(posture.namespaces[$0]?.rawValue ?? "?")" }.joined(separator: " "))
        add("user", "uid=\(posture.user.uid.map(String.init) ?? "?") hostUid=\(posture.user.hostUid.map(String.init) ?? "?") uidMap=\(posture.user.uidMap.map { "\($0.inside):\($0.outside):\($0.count)" }.joined(separator: ","))")
        add("capabilities.effective", posture.capabilities.effective.joined(separator: ",").ifEmpty("none"))
        add("capabilities.bounding", posture.capabilities.bounding.joined(separator: ",").ifEmpty("none"))
        add("capabilities.ambient", posture.capabilities.ambient.joined(separator: ",").ifEmpty("none"))
        add("seccomp", posture.seccomp.map { "\($0.mode.rawValue) filters=\($0.filters.map(String.init) ?? "?")" + ($0.threads.map { " threads=\($0) unfiltered=\(posture.seccomp?.threadsUnfiltered ?? 0)" } ?? "") } ?? "?")
        if let seccomp = posture.seccomp, let reachable = seccomp.reachable {
            add("seccomp.reachable", "(\(seccomp.source?.rawValue ?? "?")) " + SeccompReachable.groups.map { "\($0.name)=\(reachable[keyPath: $0.path].rawValue)" }.joined(separator: " "))
        }
        for entry in posture.seccomp?.syscalls ?? [] {
            let undecided = entry.undecided.map { " undecided=\($0)" } ?? ""
            add("seccomp.syscalls \(esc(entry.architecture))", "allowed=\(entry.allowed) denied=\(entry.denied) conditional=\(entry.conditional)\(undecided)")
            add("  allowed", esc(entry.allowedCalls.joined(separator: " ")).ifEmpty("none"))
            for call in entry.conditionalCalls {
                let cases = call.cases.map { "\($0.action) when \($0.when.joined(separator: " and ").ifEmpty("always"))" }
                add("  conditional \(esc(call.name))", esc(cases.joined(separator: "; ")) + (call.complete ? "" : "; …"))
            }
        }
        add("mac", macSummary(posture.mac))
        if let cgroup = posture.cgroup {
            add("cgroup", "\(cgroup.version) \(esc(cgroup.path)) memory.max=\(cgroup.memoryMax?.description ?? "?") pids.max=\(cgroup.pidsMax?.description ?? "?") cpu=\(cgroup.cpuQuota?.description ?? "?")/\(cgroup.cpuPeriod.map(String.init) ?? "?")")
        }
        let devices = posture.devices.filter { !$0.standard }
        add("devices", devices.isEmpty ? "standard only" : devices.map { "\(esc($0.path))(\($0.access),\($0.source.rawValue))" }.joined(separator: " "))
        for mount in posture.mounts where mount.hostPath != nil && mount.root != "/" {
            add("bind", "\(esc(mount.hostPath ?? "")) -> \(esc(mount.target)) \(mount.readOnly ? "ro" : "rw")")
        }
        if let hypervisor = posture.hypervisor {
            add("hypervisor", "\(hypervisor.emulator) accel=\(hypervisor.accelerator) vcpus=\(hypervisor.vcpus.map(String.init) ?? "-") user=\(esc(hypervisor.user.name ?? hypervisor.user.uid.map(String.init) ?? "?")) sandbox=\(hypervisor.sandbox.enabled ? "on" : "off")")
            for console in hypervisor.consoles {
                add("console", "\(console.kind) \(console.transport) \(esc(console.address ?? "")) local=\(console.localOnly.map { $0 ? "yes" : "no" } ?? "?")")
            }
            if !hypervisor.listening.isEmpty { add("listening", hypervisor.listening.joined(separator: " ")) }
        }
        for (field, reason) in posture.unknown.sorted(by: { $0.key < $1.key }) {
            add("unknown \(field)", esc(reason))
        }
        return lines
    }

    static func capabilitySummary(_ posture: Posture) -> String {
        let effective = posture.capabilities.effective
        if effective.isEmpty { return posture.unknown["capabilities"] == nil ? "none" : "?" }
        if effective.count >= 38 { return "ALL(\(effective.count))" }
        if effective.contains("CAP_SYS_ADMIN") { return "\(effective.count)+SYS_ADMIN" }
        return String(effective.count)
    }

    static func macSummary(_ mac: MACLabels) -> String {
        if let apparmor = mac.apparmor { return esc("aa:\(apparmor.profile)") }
        if let selinux = mac.selinux { return esc("se:\(selinux.type ?? selinux.context)") }
        return "none"
    }

    static func formatScore(_ score: Double) -> String {
        let tenths = Int((score * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func esc(_ text: String) -> String { SafeText.forTerminal(text) }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "…" : text
    }

    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

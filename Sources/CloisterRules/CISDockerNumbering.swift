import CloisterModel

/// The CIS Docker Benchmark items the pack cites, by 1.6.0's number, with their numbers in 1.8.0
/// (July 2025). The references stay 1.6.0's; this adds 1.8.0's beside them (rules/README.md,
/// "CIS Docker Benchmark 1.8.0").
///
/// CIS's own 1.8.0 text was not at hand. Each 1.8.0 number and title below was read in two
/// third-party sources that quote the benchmark item by item: an InSpec profile whose controls
/// carry `cis_benchmark: 'CIS Docker Benchmark v1.8.0'` with the item's title and audit text
/// (control `C-N`, `cis_rule_id` `SV-…r1_rule`), and a set of per-item checklists tagged
/// `version: "1.8.0"` (`cis-docker-N`, the item's title). Both found in the public code index,
/// their repositories not named there. Where the two were both seen, they agree.
public enum CISDockerNumbering {
    /// 1.6.0 item → 1.8.0 item, for every item the pack and the daemon checks cite. Sections 4
    /// and 5 keep their numbers; section 2 moves one up from 1.6.0's 2.7 (TLS) on, as 1.8.0 adds
    /// 2.7 "Ensure devicemapper storage driver is not used" before it (2.9 is then the default
    /// ulimit, 2.18 the daemon-wide seccomp profile).
    public static let v1_8_0: [String: String] = [
        // Section 2, the daemon (1.8.0 titles: 2.2 "Ensure network traffic is restricted between
        // containers on the default bridge", 2.3 "Ensure the logging level is set to 'info'",
        // 2.8 "Ensure TLS authentication for Docker daemon is configured", 2.10 "Enable user
        // namespace support", 2.13 "Ensure that authorization for Docker client commands is
        // enabled", 2.15 "Ensure containers are restricted from acquiring new privileges", 2.16
        // "Ensure live restore is enabled", 2.17 "Ensure Userland Proxy is Disabled").
        "2.2": "2.2", "2.3": "2.3", "2.7": "2.8", "2.9": "2.10", "2.12": "2.13", "2.14": "2.15", "2.15": "2.16",
        "2.16": "2.17",
        // Section 3, files and sockets: 3.5/3.6 /etc/docker, 3.15/3.16 docker.sock, 3.17/3.18
        // daemon.json, 3.23/3.24 containerd's socket, titled as in 1.6.0.
        "3.5": "3.5", "3.6": "3.6", "3.15": "3.15", "3.16": "3.16", "3.17": "3.17", "3.18": "3.18", "3.23": "3.23",
        "3.24": "3.24",
        // Sections 4 and 5, the containers: same numbers and titles as 1.6.0 (rules/README.md's table).
        "4.1": "4.1", "5.2": "5.2", "5.4": "5.4", "5.5": "5.5", "5.6": "5.6", "5.8": "5.8", "5.10": "5.10",
        "5.11": "5.11", "5.12": "5.12", "5.13": "5.13", "5.14": "5.14", "5.15": "5.15", "5.16": "5.16",
        "5.17": "5.17", "5.18": "5.18", "5.19": "5.19", "5.20": "5.20", "5.21": "5.21", "5.22": "5.22",
        "5.26": "5.26", "5.27": "5.27", "5.29": "5.29", "5.30": "5.30", "5.31": "5.31", "5.32": "5.32",
    ]

    /// A finding's CIS references for a 1.6.0 item: 1.6.0's, then 1.8.0's where it is known.
    public static func references(forItem item: String) -> [Reference] {
        var references = [Reference(source: "cis-docker-1.6.0", id: item, title: "CIS Docker Benchmark 1.6.0, recommendation \(item)")]
        if let newer = v1_8_0[item] {
            references.append(Reference(source: "cis-docker-1.8.0", id: newer, title: "CIS Docker Benchmark 1.8.0, recommendation \(newer)"))
        }
        return references
    }
}

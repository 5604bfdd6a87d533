import CloisterModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What Docker keeps for a container beside what the kernel shows, read from its two files in
/// `DATAROOT/containers/ID/`: `config.v2.json` (the container's `Config` with the image's
/// HEALTHCHECK merged in, and `NetworkSettings`: the networks it joined and the host ports
/// Docker bound for it) and `hostconfig.json` (`RestartPolicy`, `Ulimits`). Ports are what
/// Docker bound (`NetworkSettings.Ports`), not what was asked (`PortBindings`): a container on
/// `--network none` asks for ports and gets none. Both files must parse, or nothing is claimed.
public enum DockerContainerSettings {
    public static func parse(configV2: [UInt8]?, hostConfig: [UInt8]?, directory: String) -> EngineSettings? {
        guard let configV2, let hostConfig,
            let config = try? JSONDecoder().decode(ConfigFile.self, from: Data(configV2)),
            let host = try? JSONDecoder().decode(HostConfigFile.self, from: Data(hostConfig))
        else { return nil }
        var settings = EngineSettings(sources: [directory + "/config.v2.json", directory + "/hostconfig.json"])
        // Docker's HealthConfig.Test: [] or absent inherits (none here, the image's is merged in
        // already), ["NONE"] disables.
        let test = config.Config?.Healthcheck?.Test ?? []
        settings.healthCheck = !test.isEmpty && test.first != "NONE"
        let policy = host.RestartPolicy?.Name ?? ""
        settings.restartPolicy = policy.isEmpty ? "no" : policy
        settings.restartMaxRetries = host.RestartPolicy?.MaximumRetryCount ?? 0
        settings.networks = (config.NetworkSettings?.Networks ?? [:]).keys.sorted()
        var ports: [PublishedPort] = []
        for (key, bindings) in config.NetworkSettings?.Ports ?? [:] {
            let parts = key.split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let containerPort = Int(first) else { continue }
            let transport = parts.count == 2 ? String(parts[1]) : "tcp"
            for binding in bindings ?? [] {
                guard let hostPort = Int(binding.HostPort ?? "") else { continue }
                ports.append(PublishedPort(
                    hostIP: binding.HostIp ?? "", hostPort: hostPort, containerPort: containerPort, protocol: transport))
            }
        }
        settings.publishedPorts = ports.sorted { ($0.hostPort, $0.hostIP, $0.containerPort) < ($1.hostPort, $1.hostIP, $1.containerPort) }
        settings.ulimits = (host.Ulimits ?? []).map {
            ResourceLimit(name: $0.Name, soft: String($0.Soft), hard: String($0.Hard))
        }
        return settings
    }

    private struct ConfigFile: Decodable {
        var Config: ContainerConfig?
        var NetworkSettings: Network?

        struct ContainerConfig: Decodable {
            var Healthcheck: Health?
        }
        struct Health: Decodable {
            var Test: [String]?
        }
        struct Network: Decodable {
            var Networks: [String: IgnoredValue]?
            var Ports: [String: [Binding]?]?
        }
        struct Binding: Decodable {
            var HostIp: String?
            var HostPort: String?
        }
    }

    private struct HostConfigFile: Decodable {
        var RestartPolicy: Restart?
        var Ulimits: [Ulimit]?

        struct Restart: Decodable {
            var Name: String?
            var MaximumRetryCount: Int?
        }
        struct Ulimit: Decodable {
            var Name: String
            var Soft: Int64
            var Hard: Int64
        }
    }

    /// A JSON value whose content does not matter (a network's endpoint settings).
    private struct IgnoredValue: Decodable {
        init(from decoder: any Decoder) throws {}
    }
}

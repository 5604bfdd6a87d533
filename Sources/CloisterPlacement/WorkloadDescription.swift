import CloisterModel
import Foundation

// A workload description: who wrote the code, who shares the host, what the workload needs
// and what the platform offers. The field names are a public contract: descriptions written
// by users must keep working, so fields are added, never renamed.

/// Who wrote the code.
public enum Trust: String, Codable, Sendable, CaseIterable {
    case trusted, `internal`, semiTrusted = "semi-trusted", untrusted
}

/// Who shares the host.
public enum Tenancy: String, Codable, Sendable, CaseIterable {
    case single, multiCooperative = "multi-cooperative", multiHostile = "multi-hostile"
}

/// Who writes the deployment spec (pod spec, OCI config, domain XML).
public enum SpecAuthor: String, Codable, Sendable, CaseIterable {
    case `operator`, tenant
}

public enum GuestOS: String, Codable, Sendable, CaseIterable {
    case linux, windows, other
}

/// `host`: runs on whatever kernel the host has. `custom`: needs its own kernel build or
/// version. `modules`: loads kernel modules.
public enum KernelNeed: String, Codable, Sendable, CaseIterable {
    case host, custom, modules
}

/// `foreign`: built for another instruction set than the host's.
public enum ArchNeed: String, Codable, Sendable, CaseIterable {
    case native, foreign
}

public enum NetworkNeed: String, Codable, Sendable, CaseIterable {
    case none, egress, ingress, both
}

public enum Density: String, Codable, Sendable, CaseIterable {
    case low, medium, high
}

public enum IOProfile: String, Codable, Sendable, CaseIterable {
    case light, heavy
}

/// `nested`: KVM works, but the host is itself a guest.
public enum KVMAvailability: String, Codable, Sendable, CaseIterable {
    case available, nested, none
}

public enum ConfidentialHardware: String, Codable, Sendable, CaseIterable {
    case sevSNP = "sev-snp", tdx
}

public struct WorkloadNeeds: Codable, Sendable, Equatable {
    public var os: GuestOS
    public var kernel: KernelNeed
    public var arch: ArchNeed
    public var privileged: Bool
    /// `CAP_*` names, upper case.
    public var capabilities: [String]
    /// Namespaces the workload must share with the host: `pid`, `net`, `ipc`, `uts`, …
    public var hostNamespaces: [NamespaceType]
    /// Device paths (`/dev/kvm`, `/dev/nvidia0`, `/dev/fuse`).
    public var devices: [String]
    public var gpu: Bool
    /// Filesystems the workload mounts or serves: `fuse`, `nfs`, …
    public var filesystems: [String]
    public var network: NetworkNeed

    public init(
        os: GuestOS = .linux, kernel: KernelNeed = .host, arch: ArchNeed = .native, privileged: Bool = false,
        capabilities: [String] = [], hostNamespaces: [NamespaceType] = [], devices: [String] = [],
        gpu: Bool = false, filesystems: [String] = [], network: NetworkNeed = .egress
    ) {
        self.os = os
        self.kernel = kernel
        self.arch = arch
        self.privileged = privileged
        self.capabilities = capabilities
        self.hostNamespaces = hostNamespaces
        self.devices = devices
        self.gpu = gpu
        self.filesystems = filesystems
        self.network = network
    }
}

public struct PerformanceNeeds: Codable, Sendable, Equatable {
    /// Start-up budget in milliseconds; nil when start-up time does not matter.
    public var startupMs: Int?
    public var density: Density
    public var io: IOProfile

    public init(startupMs: Int? = nil, density: Density = .medium, io: IOProfile = .light) {
        self.startupMs = startupMs
        self.density = density
        self.io = io
    }
}

public struct PlatformFacts: Codable, Sendable, Equatable {
    public var kvm: KVMAvailability
    public var confidentialHardware: [ConfidentialHardware]
    /// Host kernel version (`6.1.0`), informational.
    public var hostKernel: String?

    public init(kvm: KVMAvailability = .available, confidentialHardware: [ConfidentialHardware] = [], hostKernel: String? = nil) {
        self.kvm = kvm
        self.confidentialHardware = confidentialHardware
        self.hostKernel = hostKernel
    }
}

public struct WorkloadDescription: Codable, Sendable, Equatable {
    public static let supportedVersion = 1

    public var version: Int
    public var name: String
    public var trust: Trust
    public var tenancy: Tenancy
    public var specAuthor: SpecAuthor
    /// Data classifications (`public`, `internal`, `confidential`, `pii`, `phi`, `cardholder`, …).
    public var data: [String]
    /// Compliance regimes (`pci-dss`, `hipaa`, `fedramp`, …).
    public var compliance: [String]
    /// False when the infrastructure operator is in the threat model.
    public var hostTrusted: Bool
    public var needs: WorkloadNeeds
    public var performance: PerformanceNeeds
    public var platform: PlatformFacts
    /// Fields the description did not set, which took their documented defaults.
    public var defaulted: [String]

    public init(
        name: String, trust: Trust, tenancy: Tenancy, specAuthor: SpecAuthor = .operator, data: [String] = [],
        compliance: [String] = [], hostTrusted: Bool = true, needs: WorkloadNeeds = WorkloadNeeds(),
        performance: PerformanceNeeds = PerformanceNeeds(), platform: PlatformFacts = PlatformFacts(),
        defaulted: [String] = []
    ) {
        self.version = Self.supportedVersion
        self.name = name
        self.trust = trust
        self.tenancy = tenancy
        self.specAuthor = specAuthor
        self.data = data
        self.compliance = compliance
        self.hostTrusted = hostTrusted
        self.needs = needs
        self.performance = performance
        self.platform = platform
        self.defaulted = defaulted
    }
}

// MARK: - Reading

extension WorkloadDescription {
    static let topLevelKeys = [
        "version", "name", "trust", "tenancy", "specAuthor", "data", "compliance", "hostTrusted", "needs",
        "performance", "platform",
    ]
    static let needsKeys = [
        "os", "kernel", "arch", "privileged", "capabilities", "hostNamespaces", "devices", "gpu", "filesystems",
        "network",
    ]
    static let performanceKeys = ["startupMs", "density", "io"]
    static let platformKeys = ["kvm", "confidentialHardware", "hostKernel"]

    /// Reads a description from YAML text; `file` names it in errors (with line, field and
    /// allowed values). Reading the file is `CloisterResourceFiles`'.
    public static func parse(yaml: String, file: String = "<description>") throws -> WorkloadDescription {
        try read(YAMLMap.document(yaml, file: file))
    }

    static func read(_ root: YAMLMap) throws -> WorkloadDescription {
        try root.checkKeys(topLevelKeys)
        _ = try root.checkVersion(supported: supportedVersion, kind: "workload description")
        var defaulted: [String] = []
        func noteDefault(_ map: YAMLMap?, _ key: String, _ prefix: String) {
            if map?.has(key) != true { defaulted.append(prefix.isEmpty ? key : "\(prefix).\(key)") }
        }

        let name = try root.requiredString("name")
        let trust = try root.requiredEnum("trust", Trust.self)
        let tenancy = try root.requiredEnum("tenancy", Tenancy.self)
        for key in ["specAuthor", "data", "compliance", "hostTrusted"] { noteDefault(root, key, "") }
        let specAuthor = try root.enumValue("specAuthor", SpecAuthor.self) ?? .operator
        let data = try identifiers(root, "data")
        let compliance = try identifiers(root, "compliance")
        let hostTrusted = try root.bool("hostTrusted") ?? true

        var needs = WorkloadNeeds()
        let needsMap = try root.map("needs")
        try needsMap?.checkKeys(needsKeys)
        for key in needsKeys { noteDefault(needsMap, key, "needs") }
        if let map = needsMap {
            needs.os = try map.enumValue("os", GuestOS.self) ?? needs.os
            needs.kernel = try map.enumValue("kernel", KernelNeed.self) ?? needs.kernel
            needs.arch = try map.enumValue("arch", ArchNeed.self) ?? needs.arch
            needs.privileged = try map.bool("privileged") ?? false
            needs.capabilities = try map.strings("capabilities").map(normaliseCapability)
            for (index, capability) in needs.capabilities.enumerated()
            where !capability.hasPrefix("CAP_") || capability.count < 5
                || !capability.dropFirst(4).allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) {
                throw map.error("capabilities", "item \(index) ('\(capability)') is not a capability name such as CAP_NET_ADMIN")
            }
            needs.hostNamespaces = try map.enumList("hostNamespaces", NamespaceType.self)
            needs.devices = try map.strings("devices")
            for (index, device) in needs.devices.enumerated() where !device.hasPrefix("/dev/") {
                throw map.error("devices", "item \(index) ('\(device)') must be a device path under /dev/")
            }
            needs.gpu = try map.bool("gpu") ?? false
            needs.filesystems = try identifiers(map, "filesystems")
            needs.network = try map.enumValue("network", NetworkNeed.self) ?? needs.network
        }

        var performance = PerformanceNeeds()
        let performanceMap = try root.map("performance")
        try performanceMap?.checkKeys(performanceKeys)
        for key in performanceKeys where key != "startupMs" { noteDefault(performanceMap, key, "performance") }
        if let map = performanceMap {
            performance.startupMs = try map.int("startupMs", range: 1...86_400_000)
            performance.density = try map.enumValue("density", Density.self) ?? performance.density
            performance.io = try map.enumValue("io", IOProfile.self) ?? performance.io
        }

        var platform = PlatformFacts()
        let platformMap = try root.map("platform")
        try platformMap?.checkKeys(platformKeys)
        for key in ["kvm", "confidentialHardware"] { noteDefault(platformMap, key, "platform") }
        if let map = platformMap {
            platform.kvm = try map.enumValue("kvm", KVMAvailability.self) ?? platform.kvm
            platform.confidentialHardware = try map.enumList("confidentialHardware", ConfidentialHardware.self)
            platform.hostKernel = try map.string("hostKernel")
        }

        return WorkloadDescription(
            name: name, trust: trust, tenancy: tenancy, specAuthor: specAuthor, data: data, compliance: compliance,
            hostTrusted: hostTrusted, needs: needs, performance: performance, platform: platform,
            defaulted: defaulted)
    }

    /// Lower-case identifiers (`pci-dss`, `fuse`): open sets, but kept to a shape that cannot
    /// smuggle anything into reports.
    static func identifiers(_ map: YAMLMap, _ key: String) throws -> [String] {
        let values = try map.strings(key)
        for (index, value) in values.enumerated()
        where value.isEmpty || value.count > 64
            || !value.allSatisfy({ ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw map.error(key, "item \(index) ('\(value)') must be a lower-case identifier such as pci-dss")
        }
        return values
    }

    static func normaliseCapability(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }
}

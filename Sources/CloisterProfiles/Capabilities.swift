/// The capability sets a workload should run with: exactly the capabilities it declares, in
/// bounding, effective and permitted; none inheritable; ambient only when declared, because
/// ambient capabilities survive exec into every child.
public struct CapabilityProfile: Codable, Sendable, Equatable {
    public var generatedFrom: String
    public var bounding: [String]
    public var effective: [String]
    public var permitted: [String]
    public var inheritable: [String]
    public var ambient: [String]

    public static func minimal(for declared: [String], privileged: Bool, from: String) -> CapabilityProfile {
        let names = Set(declared.map { name -> String in
            let upper = name.uppercased()
            return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        }).sorted()
        return CapabilityProfile(
            generatedFrom: "cloister profile from \(from)" + (privileged ? " (privileged requested: not granted; declare capabilities instead)" : ""),
            bounding: names, effective: names, permitted: names, inheritable: [], ambient: [])
    }
}

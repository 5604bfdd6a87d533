import CloisterLaunchCore
import CloisterModel

/// The cgroups of a launch: the directories and files of `SandboxCgroups` (shared with the fast
/// path), with the limits they came from.
public struct CgroupPlan: Sendable {
    public var cgroups: SandboxCgroups
    public var limits: CgroupLimits

    public var directories: [SandboxCgroups.Directory] { cgroups.directories }

    public var summary: String {
        directories.map { directory in
            directory.path + " (" + directory.settings.map { "\($0.file)=\($0.value)" }.joined(separator: " ") + ")"
        }.joined(separator: "; ")
    }

    /// Plans directories `cloister/<unique>` for the limits asked. Fails closed when a
    /// controller is in no hierarchy.
    public static func make(limits: CgroupLimits, root: String, name: String = SandboxCgroups.uniqueName()) throws -> CgroupPlan {
        func value(_ limit: Limit?) -> UInt64? {
            if case .value(let number)? = limit { return number }
            return nil
        }
        do {
            let cgroups = try SandboxCgroups.plan(
                memoryMax: value(limits.memoryMax), pidsMax: value(limits.pidsMax), cpuQuota: value(limits.cpuQuota),
                cpuPeriod: limits.cpuPeriod, root: root, name: name)
            return CgroupPlan(cgroups: cgroups, limits: limits)
        } catch {
            throw LaunchError(control: error.step, reason: error.reason)
        }
    }

    /// Creates the directories and writes the limits.
    public func create() throws {
        do {
            try cgroups.create()
        } catch {
            throw LaunchError(control: error.step, reason: error.reason)
        }
    }

    /// Removes the directories (they must be empty of processes: after the workload exits).
    public func remove() { cgroups.remove() }

    public var procsFiles: [String] { cgroups.procsFiles }
}

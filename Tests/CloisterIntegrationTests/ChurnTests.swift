import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Scanning while processes, sandboxes and containers start and exit all the time: no scan
/// crashes, every workload that lived through a scan is in it, and no posture is impossible
/// (a half-read workload reported as fact).
@Suite("churn", .serialized)
struct ChurnTests {
    /// How long the churn runs: bounded, so CI stays short; CHURN_SECONDS lengthens it by hand.
    static let seconds = Int(ProcessInfo.processInfo.environment["CHURN_SECONDS"] ?? "") ?? 20

    @Test(.needsPodman, .timeLimit(.minutes(3)))
    func scansDuringChurnAreWholeAndConsistent() throws {
        let first = try PodmanContainer.run("churn-stay")
        defer { first.stop() }
        let second = try PodmanContainer.run("churn-stay")
        defer { second.stop() }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-churn-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }

        let deadline = "end=$((SECONDS+\(Self.seconds)))"
        // PIDs handed out, summed between scans (modulo pid_max: they wrap within seconds here).
        let pidMax = Int((try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 32768
        var previousPID = Self.lastPID()
        var pidsHandedOut = 0
        let started = Date()
        // Hundreds of short processes a second, some of them one-process sandboxes (a private
        // PID and mount namespace: a workload that lives a few milliseconds).
        let processes = try BackgroundProcess(
            [
                "bash", "-c",
                "\(deadline); while [ $SECONDS -lt $end ]; do for i in $(seq 40); do /bin/true & done; "
                    + "for i in 1 2 3 4; do unshare --fork --pid --mount-proc /bin/true & done; wait; done",
            ], log: log)
        defer { processes.stop() }
        // Containers that start and exit for as long as the churn lasts, two at a time. Each
        // lives long enough that a whole scan overlaps one (twice what one scan takes on this
        // host now, at least 3 s: a debug build on a loaded host takes several seconds), short
        // enough that several come and go during the test.
        let probeStart = Date()
        _ = try Shell.run([try Paths.cloisterExecutable().path, "scan", "--format", "json"], timeout: 120, check: false)
        let lifetime = max(3, Int((Date().timeIntervalSince(probeStart) * 2).rounded(.up)))
        let engine = (PodmanContainer.engineFlags + ["run", "--rm"] + PodmanContainer.runFlags
            + ["--rootfs", Paths.rootfs.path, "sleep", "\(lifetime)"]).joined(separator: " ")
        let containers = try (0..<2).map { _ in
            try BackgroundProcess(
                ["bash", "-c", "\(deadline); while [ $SECONDS -lt $end ]; do podman \(engine) >/dev/null 2>&1; done"],
                log: log)
        }
        defer { containers.forEach { $0.stop(grace: 20) } }

        var scans = 0
        var transient: Set<String> = []
        let stop = Date().addingTimeInterval(Double(Self.seconds) - 2)
        while Date() < stop {
            let result = try Shell.run(
                [try Paths.cloisterExecutable().path, "scan", "--format", "json"], timeout: 60, check: false)
            let pid = Self.lastPID()
            pidsHandedOut += (pid - previousPID + pidMax) % pidMax
            previousPID = pid
            // 0 clean, 1 never (no gate given): anything else is a crash or an error.
            #expect(result.status == 0, "scan \(scans) exited \(result.status): \(result.stderr.prefix(2000))")
            guard result.status == 0 else { break }
            let report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
            scans += 1
            // The containers that lived through the whole scan are there, whole.
            for stayed in [first, second] {
                let posture = report.workloads.first { $0.id.hasSuffix(stayed.id) || $0.name == stayed.name }
                #expect(posture != nil, "scan \(scans) lost \(stayed.name)")
                #expect(posture?.pid == Int(stayed.pid))
                #expect(posture?.namespaces.pid == .private && posture?.namespaces.mnt == .private)
                // Only what podman keeps where cloister does not read it (engineSettings: health
                // check, restart policy, ports) is unknown; everything the kernel shows is read.
                let unread = (posture?.unknown ?? [:]).filter { !$0.key.absolute.hasPrefix("engineSettings.") }
                #expect(posture != nil && unread.isEmpty, "\(stayed.name): \(unread)")
            }
            for posture in report.workloads { Self.expectPossible(posture) }
            transient.formUnion(report.workloads.map(\.id).filter { !$0.hasSuffix(first.id) && !$0.hasSuffix(second.id) })
            let ids = Set(report.workloads.map(\.id))
            #expect(ids.count == report.workloads.count, "a workload reported twice")
            // Host findings (an installed runtime's CVE) name the host, not a workload.
            #expect(report.findings.allSatisfy { ids.contains($0.workload) || $0.workload == "host" })
        }
        #expect(scans >= 3, "only \(scans) scans in \(Self.seconds) s")
        // The churn was seen: short-lived containers or sandboxes were caught mid-life.
        #expect(!transient.isEmpty, "no short-lived workload seen in \(scans) scans: is the churn running? \(processes.log)")
        // The churn is hundreds of processes a second.
        let rate = Double(pidsHandedOut) / Date().timeIntervalSince(started)
        #expect(rate >= 100, "only \(Int(rate)) processes a second")
        print("churn: \(scans) scans in \(Self.seconds) s, \(Int(rate)) new PIDs/s, \(transient.count) short-lived workloads seen")
        #expect(processes.isRunning || ChildProcess.exitStatus(processes.pid) != nil)
    }

    /// The last PID the kernel handed out (`/proc/loadavg`'s fifth field).
    static func lastPID() -> Int {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    /// What no real workload can look like: a leader that is not among its processes, no
    /// processes at all, a VM without a hypervisor section.
    static func expectPossible(_ posture: Posture) {
        #expect(!posture.id.isEmpty)
        #expect(!posture.processes.isEmpty, "\(posture.id) has no processes")
        if let pid = posture.pid {
            #expect(posture.processes.contains(pid), "\(posture.id): leader \(pid) not in \(posture.processes)")
        } else {
            Issue.record("\(posture.id) has no leader PID")
        }
        #expect(Set(posture.processes).count == posture.processes.count, "\(posture.id) lists a process twice")
        if posture.kind == .vm { #expect(posture.hypervisor != nil, "\(posture.id) is a VM without hypervisor facts") }
    }
}

import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `scan --watch` (and `serve`, which shares `ScanMemory`): a rescan reads again only the
/// workloads that changed, and says the same as a full scan made right after it, under the
/// changes a host sees: a container gone, one started, a mount inside one, a cgroup limit
/// changed from outside, a process exec'd into one.
@Suite("incremental rescans", .serialized)
struct IncrementalScanTests {
    @Test(.needsPodman, .timeLimit(.minutes(4)))
    func rescanEqualsAFullScanUnderChurn() throws {
        let steady = try PodmanContainer.run("incr-steady")
        defer { steady.stop() }
        let leaving = try PodmanContainer.run("incr-leaving")
        defer { leaving.stop() }
        let mounting = try PodmanContainer.run("incr-mount", flags: ["--cap-add", "SYS_ADMIN"])
        defer { mounting.stop() }
        let limited = try PodmanContainer.run("incr-limit", flags: ["--memory", "64m"])
        defer { limited.stop() }
        let execd = try PodmanContainer.run("incr-exec")
        defer { execd.stop() }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let reports = directory.appendingPathComponent("reports.ndjson")
        let log = directory.appendingPathComponent("watch.log")
        let watcher = try BackgroundProcess(
            ["bash", "-c", "exec \(try Paths.cloisterExecutable().path) scan --watch 3600 --format json >\(reports.path) 2>\(log.path)"],
            log: directory.appendingPathComponent("bash.log"))
        defer { watcher.stop() }

        // The reports that are complete: a report is written in pieces, and is whole once its
        // newline is (as any reader of JSON Lines takes it).
        func lines() -> [String] {
            let text = (try? String(contentsOf: reports, encoding: .utf8)) ?? ""
            guard let end = text.lastIndex(of: "\n") else { return [] }
            return text[..<end].split(separator: "\n").map(String.init)
        }
        func waitForReport(_ count: Int) throws -> ScanReport {
            let deadline = Date().addingTimeInterval(90)
            while lines().count < count, Date() < deadline, watcher.isRunning { usleep(100_000) }
            let all = lines()
            try #require(all.count >= count, "report \(count) never came: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            return try JSONDecoder().decode(ScanReport.self, from: Data(all[count - 1].utf8))
        }
        func countsLine(_ scan: Int) -> (rebuilt: Int, reused: Int)? {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cloister: scan \(scan):") }) else { return nil }
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            // "scan N: R of T workloads read again, U reused, M ms"
            return numbers.count >= 5 ? (numbers[1], numbers[3]) : nil
        }

        let first = try waitForReport(1)
        let ours = [steady, leaving, mounting, limited, execd]
        for container in ours {
            #expect(first.workloads.contains { $0.pid == Int(container.pid) }, "\(container.name) missing from the first scan")
        }

        // Nothing of ours changed: the second scan reuses all five.
        kill(watcher.pid, SIGHUP)
        let second = try waitForReport(2)
        let secondCounts = try #require(countsLine(2))
        #expect(secondCounts.reused >= ours.count, "second scan reused \(secondCounts.reused) of \(second.workloads.count)")
        for container in ours {
            let before = try #require(first.workloads.first { $0.pid == Int(container.pid) })
            let after = try #require(second.workloads.first { $0.pid == Int(container.pid) })
            #expect(before == after, "\(container.name) changed with nothing done to it")
        }

        // The churn.
        leaving.stop()
        let arriving = try PodmanContainer.run("incr-arriving")
        defer { arriving.stop() }
        _ = try PodmanContainer.podman(["exec", mounting.name, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", "/mnt"])
        _ = try PodmanContainer.podman(["update", "--memory", "128m", limited.name])
        let exec = try BackgroundProcess(
            ["podman"] + PodmanContainer.engineFlags + ["exec", execd.name, "sleep", "60"],
            log: directory.appendingPathComponent("exec.log"))
        defer { exec.stop() }
        let execDeadline = Date().addingTimeInterval(30)
        while Self.processCount(inside: execd) < 2, Date() < execDeadline { usleep(100_000) }
        #expect(Self.processCount(inside: execd) >= 2, "podman exec never started its process")

        kill(watcher.pid, SIGHUP)
        let third = try waitForReport(3)
        // Right after: a full scan by a separate process, with nothing of ours changed since.
        let full = try Shell.run([try Paths.cloisterExecutable().path, "scan", "--format", "json"], timeout: 120, check: false)
        #expect(full.status == 0, "full scan: \(full.stderr.prefix(1000))")
        let fullReport = try JSONDecoder().decode(ScanReport.self, from: Data(full.stdout.utf8))
        let thirdCounts = try #require(countsLine(3))
        // The mount, the limit, the exec and the new container at least were read again.
        #expect(thirdCounts.rebuilt >= 4, "third scan read again only \(thirdCounts.rebuilt)")

        #expect(!third.workloads.contains { $0.pid == Int(leaving.pid) })
        let mounted = try #require(third.workloads.first { $0.pid == Int(mounting.pid) })
        #expect(mounted.mounts.contains { $0.target == "/mnt" && $0.type == "tmpfs" }, "the new mount is not in the rescan")
        let limit = try #require(third.workloads.first { $0.pid == Int(limited.pid) })
        #expect(limit.cgroup?.memoryMax == .value(128 << 20), "memory limit after podman update: \(String(describing: limit.cgroup?.memoryMax))")
        let grown = try #require(third.workloads.first { $0.pid == Int(execd.pid) })
        #expect(grown.processes.count >= 2, "the exec'd process is not a member: \(grown.processes)")
        #expect(third.workloads.contains { $0.pid == Int(arriving.pid) }, "the new container is missing")

        // The rescan says what the full scan says, posture for posture and finding for finding,
        // for every container this test holds still (the ones still running). Other tests'
        // containers, started or changed between the two scans by suites that run beside this
        // one, are not compared.
        let stillRunning = [steady, mounting, limited, execd, arriving].map { Int($0.pid) }
        let podmanIDs = Set(fullReport.workloads.filter { $0.runtime == "podman" && stillRunning.contains($0.pid ?? -1) }.map(\.id))
        #expect(podmanIDs.count == stillRunning.count, "not every container of this test is in the full scan")
        for id in podmanIDs {
            let incremental = third.workloads.first { $0.id == id }
            let whole = fullReport.workloads.first { $0.id == id }
            #expect(incremental == whole, "\(id): the rescan and the full scan disagree")
            let incrementalFindings = third.findings.filter { $0.workload == id }
            let wholeFindings = fullReport.findings.filter { $0.workload == id }
            #expect(incrementalFindings == wholeFindings, "\(id): findings differ")
        }
        #expect(third.host == fullReport.host)

        // SIGTERM ends the watch between scans, cleanly.
        kill(watcher.pid, SIGTERM)
        let exitDeadline = Date().addingTimeInterval(30)
        while watcher.isRunning, Date() < exitDeadline { usleep(100_000) }
        #expect(watcher.exitStatus == 0, "scan --watch exited \(String(describing: watcher.exitStatus)) on SIGTERM")
        #expect(lines().count == 3)
    }

    /// Processes in the container's PID namespace, counted from the host.
    static func processCount(inside container: PodmanContainer) -> Int {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(container.pid)/ns/pid"),
            let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
        else { return 0 }
        return entries.filter { Int($0) != nil }.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/ns/pid")) == target
        }.count
    }
}

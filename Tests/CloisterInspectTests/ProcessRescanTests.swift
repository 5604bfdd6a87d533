import CloisterModel
import CloisterSystem
import Foundation
import Testing
@testable import CloisterInspect

@Suite("Rescans of the process table")
struct ProcessRescanTests {
    @Test("the start time is field 22, counted from the last ')' of the command")
    func startTime() {
        func stat(_ comm: String, start: String = "424242") -> [UInt8] {
            let after = (3...21).map { String($0) }.joined(separator: " ")
            return Array("17 (\(comm)) \(after) \(start) 23 24\n".utf8)
        }
        #expect(ProcStat.startTime(stat("sleep")) == 424242)
        #expect(ProcStat.startTime(stat("a) (b c) 1 2 3")) == 424242)
        #expect(ProcStat.startTime(stat("x", start: "18446744073709551615")) == UInt64.max)
        #expect(ProcStat.startTime(stat("x", start: "18446744073709551616")) == nil)
        #expect(ProcStat.startTime(Array("17 (x) S 1 2".utf8)) == nil)
        #expect(ProcStat.startTime(Array("no parenthesis".utf8)) == nil)
        #expect(ProcStat.startTime(stat("x", start: "")) == nil)
        let own = try? Files.read("/proc/self/stat")
        #expect(own.flatMap(ProcStat.startTime) != nil)
    }

    @Test("a known process keeps what was read of it; a start time that differs is a new process, read in full")
    func reuseAndReuseOfPIDs() throws {
        let root = HostRoot()
        let first = try ProcessReader.readAll(root: root, known: [:])
        let own = Int(getpid())
        let mine = try #require(first.known[own])
        #expect(!mine.record.namespaces.isEmpty)
        #expect(first.table[own]?.namespaces == mine.record.namespaces)

        // Known with namespaces it does not have: kept, as the process is the same one.
        var known = first.known
        var altered = mine
        altered.record.namespaces = [.net: 1]
        altered.record.cgroups = []
        known[own] = altered
        let second = try ProcessReader.readAll(root: root, known: known)
        #expect(second.table[own]?.namespaces == [.net: 1])
        #expect(second.table[own]?.status.name == mine.record.status.name)

        // The same PID with another start time: another process, read in full.
        altered.startTime = mine.startTime &+ 1
        known[own] = altered
        let third = try ProcessReader.readAll(root: root, known: known)
        #expect(third.table[own]?.namespaces == mine.record.namespaces)
        #expect(third.table[own]?.cgroups == mine.record.cgroups)

        // Another name (an exec, mostly): read in full.
        altered.startTime = mine.startTime
        altered.record.status.name = "not-this"
        known[own] = altered
        let fourth = try ProcessReader.readAll(root: root, known: known)
        #expect(fourth.table[own]?.namespaces == mine.record.namespaces)

        // Every process the full read found is found again, with the same namespaces.
        let again = try ProcessReader.readAll(root: root, known: first.known)
        for (pid, record) in first.table where again.table[pid] != nil && pid != own {
            #expect(again.table[pid]?.namespaces == record.namespaces, "PID \(pid)")
        }
    }
}

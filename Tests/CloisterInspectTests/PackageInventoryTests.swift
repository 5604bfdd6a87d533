import CloisterModel
import Foundation
import Testing
@testable import CloisterInspect

/// The host's container and virtualisation software, from its package database: this host's
/// real dpkg database against dpkg-query's own answer, an Alpine tree's apk database, a Fedora
/// tree whose rpm database cloister says it does not read.
@Suite("Package inventory")
struct PackageInventoryTests {
    static let hasDpkg = FileManager.default.fileExists(atPath: "/var/lib/dpkg/status")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-query")

    /// dpkg-query's answer for one package: its version when installed, else nil.
    static func dpkgQuery(_ package: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        process.arguments = ["-W", "-f=${db:Status-Status} ${Version}", package]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "installed" else { return nil }
        return String(parts[1])
    }

    @Test("this host's Debian packages: every component dpkg-query lists, at dpkg-query's version",
          .enabled(if: hasDpkg, "needs a dpkg host (Debian, Ubuntu)"))
    func thisHost() throws {
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let inventory = PackageInventory.read(root: HostRoot(), kernelRelease: release)
        #expect(inventory.packageManager == "dpkg")
        let osRelease = OSRelease.parse(try String(contentsOfFile: "/etc/os-release", encoding: .utf8))
        #expect(inventory.distribution == osRelease["ID"])
        #expect(inventory.distributionVersion == osRelease["VERSION_ID"])
        var checked = 0
        for (component, names) in PackageInventory.packages {
            for name in names {
                let expected = try Self.dpkgQuery(name)
                let found = inventory.components.first { $0.component == component && $0.package == name }
                #expect(found?.version == expected, "\(name): dpkg-query says \(expected ?? "not installed")")
                #expect(found.map { $0.source == "dpkg" } ?? true)
                if expected != nil { checked += 1 }
            }
        }
        // This host carries runc, containerd, docker.io, podman and conmon (CI installs them):
        // the comparison is not one of absences only.
        #expect(checked >= 1, "no component of the list is installed: nothing was compared")
        #expect(inventory.components.contains { $0.component == "kernel" && $0.source == "kernel" && $0.version == release })
    }

    @Test("an Alpine tree: apk's installed database, Alpine's os-release")
    func alpine() throws {
        let root = HostRoot(prefix: FixtureScanTests.fixture("alpine-host"))
        let inventory = PackageInventory.read(root: root, kernelRelease: "6.6.58-0-virt")
        #expect(inventory.packageManager == "apk")
        #expect(inventory.distribution == "alpine")
        #expect(inventory.distributionVersion == "3.20.3")
        let byComponent = Dictionary(inventory.components.map { ($0.component + "/" + ($0.package ?? "-"), $0.version) }, uniquingKeysWith: { a, _ in a })
        #expect(byComponent["runc/runc"] == "1.1.12-r4")
        #expect(byComponent["containerd/containerd"] == "1.7.17-r2")
        #expect(byComponent["dockerd/docker-engine"] == "26.1.5-r0")
        #expect(byComponent["conmon/conmon"] == "2.1.12-r0")
        #expect(byComponent["qemu/qemu-system-x86_64"] == "9.0.2-r1")
        #expect(byComponent["podman/podman"] == nil)
        #expect(inventory.components.allSatisfy { $0.source == "apk" || $0.component == "kernel" })
        #expect(inventory.unknown.isEmpty, "\(inventory.unknown)")
    }

    @Test("a Fedora tree: the rpm database is found and said not to be read")
    func rpm() {
        let root = HostRoot(prefix: FixtureScanTests.fixture("fedora-host"))
        let inventory = PackageInventory.read(root: root, kernelRelease: "6.8.5-301.fc40.x86_64")
        #expect(inventory.packageManager == "rpm")
        #expect(inventory.distribution == "fedora")
        #expect(inventory.unknown["packages"]?.contains("/var/lib/rpm/rpmdb.sqlite") == true)
        // Only the running kernel's release, which the kernel itself reports.
        #expect(inventory.components == [InstalledComponent(component: "kernel", version: "6.8.5-301.fc40.x86_64", source: "kernel")])
    }

    @Test("dpkg's status file: only installed packages, continuation lines and CRLF")
    func dpkgStatusFormat() {
        let text = """
            Package: runc\r
            Status: install ok installed\r
            Version: 1.1.5+ds1-1+deb12u1\r
            Description: Open Container Project - runtime\r
             Version: 9.9.9 (a continuation line, not a field)\r
            \r
            Package: crun
            Status: deinstall ok config-files
            Version: 1.8.1-1+deb12u1

            Package: broken
            Status: install ok installed

            """
        let packages = DpkgStatus.parse(text)
        #expect(packages.count == 2)
        #expect(packages.first == DpkgStatus.Package(name: "runc", version: "1.1.5+ds1-1+deb12u1", installed: true))
        #expect(packages.last?.installed == false)
    }

    @Test("os-release values, quoted or not")
    func osRelease() {
        let parsed = OSRelease.parse("# comment\nID=debian\nVERSION_ID=\"12\"\nNAME='Debian GNU/Linux'\n")
        #expect(parsed == ["ID": "debian", "VERSION_ID": "12", "NAME": "Debian GNU/Linux"])
    }
}

import Foundation

/// Where the repository, its generated test assets and the built `cloister` executable are.
/// Every path can be overridden from the environment, so the same tests run from any checkout,
/// scratch path (`swift test --scratch-path .build-NAME`) or CI clone.
enum Paths {
    /// `Tests/CloisterIntegrationTests/Support/Paths.swift` → the repository root.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // CloisterIntegrationTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// Built by `scripts/test-assets.sh`; `CLOISTER_TEST_ASSETS` overrides.
    static var assets: URL {
        if let path = ProcessInfo.processInfo.environment["CLOISTER_TEST_ASSETS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repositoryRoot.appendingPathComponent("test-assets")
    }

    static var rootfs: URL { assets.appendingPathComponent("rootfs") }
    static var kernel: URL { assets.appendingPathComponent("vmlinuz") }
    static var initramfs: URL { assets.appendingPathComponent("initramfs.cpio.gz") }

    static var assetsBuilt: Bool {
        let files = FileManager.default
        return files.isExecutableFile(atPath: rootfs.appendingPathComponent("bin/busybox").path)
            && files.fileExists(atPath: kernel.path) && files.fileExists(atPath: initramfs.path)
    }

    /// The `cloister` executable that `swift build`/`swift test` built beside the test bundle.
    ///
    /// Order: `CLOISTER_BIN`; the directory of the running test binary (SwiftPM puts every
    /// product of one build in the same directory, whatever the scratch path); the newest
    /// `.build*/debug/cloister` under the repository.
    static func cloisterExecutable() throws -> URL {
        let files = FileManager.default
        if let path = ProcessInfo.processInfo.environment["CLOISTER_BIN"], !path.isEmpty {
            guard files.isExecutableFile(atPath: path) else {
                throw HarnessError("CLOISTER_BIN=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = []
        if let argument0 = CommandLine.arguments.first {
            let binary = URL(fileURLWithPath: argument0).resolvingSymlinksInPath()
            candidates.append(binary.deletingLastPathComponent().appendingPathComponent("cloister"))
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("cloister"))
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("cloister"))
        if let found = candidates.first(where: { files.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        // Last resort: any scratch directory of this checkout (.build, .build-infra, …).
        let entries = (try? files.contentsOfDirectory(atPath: repositoryRoot.path)) ?? []
        let built = entries.filter { $0.hasPrefix(".build") }
            .map { repositoryRoot.appendingPathComponent($0).appendingPathComponent("debug/cloister") }
            .filter { files.isExecutableFile(atPath: $0.path) }
            .sorted { modificationDate($0) > modificationDate($1) }
        if let newest = built.first { return newest }
        throw HarnessError(
            "cannot find the cloister executable (looked at \(candidates.map(\.path)) and .build*/debug): "
                + "run `swift build` first or set CLOISTER_BIN")
    }

    private static func modificationDate(_ url: URL) -> Date {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        return attributes?[.modificationDate] as? Date ?? .distantPast
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

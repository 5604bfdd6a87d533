// swift-tools-version: 6.0
import PackageDescription

// Direction of dependencies (docs/architecture.md draws it, with what each module may import;
// ModuleGraphTests holds these declarations to the sources' imports, none unused):
//   leaves:  CloisterModel (the posture; imports nothing), CloisterCodec (JSON, YAML, XML,
//            escaping; Yams), CloisterOCI (runtime-spec wire types; imports nothing)
//   pure:    CloisterFormats, CloisterRules, CloisterPlacement, CloisterProfiles, CloisterReport,
//            CloisterAdmission: handed text and values, never the OS (PureModulesTests)
//   I/O:     CloisterSystem ← C bridges; CloisterInspect (/proc), CloisterCheck (files given),
//            CloisterResourceFiles (rules/, policies/), CloisterSeccomp (libseccomp)
//   pipeline and launch: CloisterPipeline (scan, check as library calls), CloisterLaunch ←
//            CloisterLaunchCore (Foundation-free, for the static front)
//   CloisterServe (HTTP) runs the scan it is handed; CloisterCommands ← cloister-full, cloister-serve.
// The model imports neither leaf: it is the posture, not the ways of writing it.

func cLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "cloister",
    platforms: [.macOS(.v15)],
    products: [
        // `cloister` is the small front: the fast launch path, else exec of `cloister-full`
        // (installed beside it). See Sources/cloister/main.swift.
        .executable(name: "cloister", targets: ["cloister"]),
        .executable(name: "cloister-full", targets: ["cloister-full"]),
        // `cloister serve` runs here, so the HTTP stack is not linked into `cloister` (see README).
        .executable(name: "cloister-serve", targets: ["cloister-serve"]),
        // For Fuzz/, the fuzzing package, which links the parsers of untrusted input.
        .library(
            name: "CloisterParsers",
            targets: [
                "CloisterCodec", "CloisterModel", "CloisterInspect", "CloisterFormats", "CloisterCheck", "CloisterRules",
                "CloisterPlacement", "CloisterAdmission", "CloisterOCI", "CloisterResourceFiles", "CloisterBPF",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Insecure.SHA1 for OSCAL's RFC 4122 version 5 UUIDs (already in the graph through Hummingbird).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        cLibrary("CSeccomp", pkgConfig: "libseccomp", apt: "libseccomp-dev"),
        cLibrary("CLibcap", pkgConfig: "libcap", apt: "libcap-dev"),
        cLibrary("CSELinux", pkgConfig: "libselinux", apt: "libselinux1-dev"),
        cLibrary("CAppArmor", pkgConfig: "libapparmor", apt: "libapparmor-dev"),
        // What Swift cannot call directly: variadic prctl, raw syscalls without libc wrappers.
        .target(name: "CCloisterShim"),

        // Pure: Codable, Sendable values. No I/O, no C.
        .target(name: "CloisterModel"),
        // Pure: seccomp's classic BPF programs validated as the kernel does and evaluated over
        // seccomp_data, per architecture and system call; the decoded table as posture fields.
        // The OS layer reads the programs (ptrace, libseccomp's export) and the names.
        .target(name: "CloisterBPF", dependencies: ["CloisterModel"]),
        // A leaf of text codecs: the JSON value and its encoders (one string escaper), the one
        // YAML entry point and its error, the document tree with positions (DocNode) and its
        // JSON parser, and the escapers for terminal, HTML/XML and Markdown. Knows no posture.
        .target(name: "CloisterCodec", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The OCI runtime-spec wire types (config.json, linux.seccomp): Codable values only, no
        // Foundation, no I/O. Every reader and writer of those files shares them.
        .target(name: "CloisterOCI"),
        // The only layer that talks to the kernel and the C libraries.
        .target(
            name: "CloisterSystem",
            dependencies: ["CCloisterShim", "CSeccomp", "CLibcap", "CSELinux", "CAppArmor"]),
        // Live /proc and /sys inspection: discovery and posture of workloads.
        .target(
            name: "CloisterInspect",
            dependencies: [
                "CloisterCodec", "CloisterModel", "CloisterSystem", "CloisterFormats", "CloisterBPF", "CloisterOCI",
                "CloisterSeccomp",
            ]),
        // `launch`: plans a sandbox from a target posture, compiles its seccomp filter, sets up
        // cgroups, and starts it through the C child in CCloisterShim (cl_launch).
        .target(
            name: "CloisterLaunch",
            dependencies: [
                "CloisterModel", "CloisterOCI", "CloisterSystem", "CloisterSeccomp", "CCloisterShim",
                "CloisterLaunchCore",
            ]),
        // Foundation-free: the spec handed to the C child, cgroups, the default seccomp list,
        // and the fast path of `launch --no-verify` that the front executable runs.
        .target(name: "CloisterLaunchCore", dependencies: ["CCloisterShim", "CSeccomp"]),
        .target(
            name: "CloisterRules", dependencies: ["CloisterCodec", "CloisterModel", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "CloisterPlacement",
            dependencies: ["CloisterCodec", "CloisterModel", .product(name: "Yams", package: "Yams")]),
        // Reads rule files, policies, baselines, scenarios, descriptions and syscall groups from
        // disk and hands their text to the pure parsers above: the one place those are read.
        .target(
            name: "CloisterResourceFiles", dependencies: ["CloisterRules", "CloisterPlacement", "CloisterProfiles"]),
        // Rules for the pack's titles, descriptions and references that reports show.
        .target(
            name: "CloisterReport",
            dependencies: [
                "CloisterCheck", "CloisterCodec", "CloisterModel", "CloisterRules", .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Pure profile generators: target needs, groups and learned records in, text or Codable out.
        .target(
            name: "CloisterProfiles",
            dependencies: ["CloisterCodec", "CloisterModel", "CloisterOCI", .product(name: "Yams", package: "Yams")]),
        // libseccomp compilation, running under a filter, and the user-notification recorder.
        .target(name: "CloisterSeccomp", dependencies: ["CloisterOCI", "CloisterProfiles", "CSeccomp", "CCloisterShim"]),
        // Pure parsers of configuration formats (qemu argv, JSON with positions, and the
        // mapping of each format to a declared posture). No I/O: the live scanner reuses them.
        .target(name: "CloisterFormats", dependencies: ["CloisterCodec", "CloisterModel", "CloisterOCI"]),
        // `check`: reads files, detects their format, and yields declared postures.
        .target(
            name: "CloisterCheck",
            dependencies: ["CloisterCodec", "CloisterModel", "CloisterFormats"]),
        // Pure: an AdmissionReview in, the same mapping, rules and placement as `check` and
        // `advise`, a decision (and JSON patch) out. No HTTP, so the fuzz package links it.
        .target(
            name: "CloisterAdmission",
            dependencies: ["CloisterCodec", "CloisterModel", "CloisterFormats", "CloisterRules", "CloisterPlacement"]),
        // The pipeline as library calls with typed inputs and outputs: a scan (discover →
        // postures → assess → report), a check (files → declared postures → assess → report),
        // and the assessment both share (rules, exposure, baseline, gate). Rendering, writing
        // and exit status stay with the commands.
        .target(
            name: "CloisterPipeline",
            dependencies: [
                "CloisterModel", "CloisterInspect", "CloisterCheck", "CloisterRules", "CloisterSystem", "CloisterResourceFiles",
            ]),
        // `serve`: the HTTP server (Hummingbird) over the pure parts above and in CloisterReport.
        .target(
            name: "CloisterServe",
            dependencies: [
                "CloisterCodec", "CloisterModel", "CloisterAdmission", "CloisterReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "CloisterCommands",
            dependencies: [
                "CloisterCodec", "CloisterModel", "CloisterPipeline", "CloisterRules", "CloisterPlacement",
                "CloisterReport", "CloisterCheck", "CloisterSystem", "CloisterLaunch", "CloisterProfiles",
                "CloisterSeccomp", "CloisterAdmission", "CloisterOCI", "CloisterResourceFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "cloister-full", dependencies: ["CloisterCommands"],
            exclude: ["link-order.txt"],
            // A release build links the Swift runtime and Foundation statically: the dynamic
            // loader's relocation of a dozen Swift libraries left ~6 MB resident before main and
            // cost start-up time on every scan (measured with CLOISTER_DEBUG_TIMINGS=smaps).
            // Linked by lld, for two things gold cannot do: relative relocations packed
            // (DT_RELR, glibc 2.36: 2.2 MB of relocation entries read at every start become
            // 18 KB), and the functions a scan runs laid out together (link-order.txt, written
            // by scripts/link-order.sh): the kernel maps code in whole blocks around each page
            // touched, and a scan's 1.7 MB of code spread over the binary kept 12 MB resident.
            linkerSettings: [.unsafeFlags(
                [
                    "-static-stdlib", "-use-ld=lld",
                    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/cloister-full/link-order.txt",
                    // A function the list names that this build does not have (renamed, inlined) is skipped.
                    "-Xlinker", "--no-warn-symbol-ordering",
                    // The static Foundation archives refer to each other both ways: resolve them as one group.
                ] + [
                    "--start-group", "-lFoundationXML", "-l_CFXMLInterface", "-lFoundation",
                    "-lFoundationInternationalization", "-l_FoundationICU", "-lFoundationEssentials",
                    "-l_FoundationCShims", "-l_FoundationCollections", "-lCoreFoundation", "-lswiftSynchronization",
                    "-lswiftDispatch", "-ldispatch", "-lBlocksRuntime", "--end-group", "-lxml2",
                ].flatMap { ["-Xlinker", $0] }, .when(platforms: [.linux], configuration: .release))]),
        // Statically linked (no dynamic loader, no shared Swift runtime to relocate): starts in
        // about half a millisecond, measured, against 2.7 ms dynamically linked.
        // Not a dependency of cloister-full: SwiftPM would link cloister-full's libraries (all
        // of Foundation) into it. Build both: `swift build` without --product.
        .executableTarget(
            name: "cloister", dependencies: ["CloisterLaunchCore"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]),
        .executableTarget(name: "cloister-serve", dependencies: ["CloisterCommands", "CloisterServe"]),

        // Real profiles compiled by libseccomp, decoded and compared with what they say.
        .testTarget(name: "CloisterBPFTests", dependencies: ["CloisterBPF", "CloisterModel", "CloisterSeccomp", "CloisterOCI", "CloisterSystem"]),
        .testTarget(name: "CloisterCodecTests", dependencies: ["CloisterCodec", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CloisterServeTests",
            dependencies: [
                "CloisterServe", "CloisterAdmission", "CloisterReport", "CloisterModel", "CloisterRules", "CloisterResourceFiles",
            ]),
        // Reads the shipped rules and the captured host trees by path, as the commands would.
        .testTarget(name: "CloisterPipelineTests", dependencies: ["CloisterPipeline", "CloisterModel", "CloisterRules"]),
        .testTarget(name: "CloisterFormatsTests", dependencies: ["CloisterFormats", "CloisterModel"]),
        .testTarget(
            name: "CloisterCommandsTests",
            dependencies: [
                "CloisterCommands", "CloisterAdmission", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "CloisterCheckTests",
            dependencies: ["CloisterCheck", "CloisterCodec", "CloisterFormats", "CloisterModel", "CloisterRules", "CloisterResourceFiles"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CloisterInspectTests",
            dependencies: ["CloisterInspect", "CloisterSystem", "CloisterModel", "CloisterCodec"],
            exclude: ["Fixtures"]),
        .testTarget(name: "CloisterPlacementTests", dependencies: ["CloisterPlacement", "CloisterModel", "CloisterResourceFiles"]),
        .testTarget(
            name: "CloisterLaunchTests",
            dependencies: ["CloisterLaunch", "CloisterLaunchCore", "CloisterModel", "CloisterOCI", "CloisterSeccomp"]),
        .testTarget(name: "CloisterProfilesTests", dependencies: ["CloisterProfiles", "CloisterOCI", "CloisterResourceFiles"]),
        // Round trips of real config.json files, and the launch bundle read back by `check`'s reader.
        .testTarget(
            name: "CloisterOCITests",
            dependencies: ["CloisterOCI", "CloisterCodec", "CloisterFormats", "CloisterLaunch", "CloisterModel"]),
        .testTarget(name: "CloisterRulesTests", dependencies: ["CloisterRules", "CloisterModel", "CloisterCodec", "CloisterResourceFiles"]),
        .testTarget(
            name: "CloisterReportTests",
            dependencies: ["CloisterReport", "CloisterRules", "CloisterModel", "CloisterCodec", "CloisterResourceFiles"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CloisterIntegrationTests",
            // Yams: DeploymentManifestTests reads deploy/kubernetes/*.yaml to assert their
            // security properties.
            dependencies: ["CloisterModel", .product(name: "Yams", package: "Yams")],
            // Read by path (Paths.repositoryRoot), not bundled.
            exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// cloister's own Swift code, one section per function in a release build, so the release link
// can lay out the functions a scan runs together (link-order.txt above) instead of moving each
// file's code whole. Only the link of cloister-full reorders; the other executables are as
// before.
for target in package.targets where target.type == .regular || target.type == .executable {
    guard target.name.hasPrefix("Cloister") || target.name.hasPrefix("cloister") else { continue }
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release)),
    ]
}

// swift-tools-version: 6.0
// Fuzz targets for every parser of untrusted input, one executable each. Built only with
// libFuzzer (scripts/fuzz.sh):
//   swift build -c release --scratch-path ../.build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
// (lld: gold fails with an internal error on the instrumented objects.)
// Kept out of the main package so that a normal build never needs the fuzzer runtime.
//
// SwiftPM links an executable with `--defsym main=<module>_main`, so each target defines that
// function and hands its argv to libFuzzer's driver (LLVMFuzzerRunDriver); libFuzzer's own
// `main`, which a `-parse-as-library` target would otherwise rely on, is never linked.
import Foundation
import PackageDescription

// A package depended on by path is identified by its directory's name, which is the clone's.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let cloister = root.lastPathComponent.lowercased()

let targets = [
    "proc-status", "id-map", "ns-link", "cmdline", "mountinfo", "cgroup", "mac-label", "socket-table",
    "fdinfo", "passwd", "runc-state", "libvirt-status", "engine-state", "json-document", "oci-config",
    "firecracker", "qemu-cmdline", "qemu-options", "kubernetes", "compose", "libvirt-xml", "rule-file",
    "exposure-policy", "baseline", "workload-description", "safe-text", "admission-review", "libvirt-qemu-conf",
    "seccomp-bpf",
]

let package = Package(
    name: "cloister-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(
            name: "FuzzTargets",
            dependencies: ["CFuzzDriver", .product(name: "CloisterParsers", package: cloister)]),
    ] + targets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzTargets"], path: "Sources/fuzz-\(name)")
    },
    swiftLanguageModes: [.v6]
)

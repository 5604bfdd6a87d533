import CloisterLaunchCore

#if canImport(Glibc)
import Glibc
#endif

// The `cloister` executable users run: small, statically linked and free of Foundation, so that
// `cloister launch --no-verify -- CMD` (the hardened default, see FastLaunch) starts its
// workload in about the time the kernel needs to build the sandbox. Every other command line
// is handed, unchanged, to `cloister-full` (the whole command tree) in this directory with
// execv, which costs about a millisecond more (docs/testing.md, scripts/bench-launch.sh).

let arguments = CommandLine.arguments
if let command = FastLaunch.command(from: Array(arguments.dropFirst())) {
    exit(FastLaunch.run(command: command))
}

/// The directory of this executable, from /proc/self/exe (argv[0] may be a bare name on PATH).
func ownDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return nil }
    let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = path.lastIndex(of: "/") else { return nil }
    return String(path[..<slash])
}

let full = (ownDirectory() ?? ".") + "/cloister-full"
let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
execv(full, argv)
let message = "cloister: cannot run \(full): \(String(cString: strerror(errno))) (install cloister-full beside cloister)\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)

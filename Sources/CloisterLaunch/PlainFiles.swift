import CloisterLaunchCore
#if canImport(Glibc)
import Glibc
#endif

/// Small reads of /proc and /sys with plain system calls. The launch path avoids Foundation's
/// file APIs: their first use initialises much of Foundation, which showed in start-up time.
enum PlainFiles {
    static func read(_ path: String, limit: Int = 4096) -> String? {
        SmallFiles.read(path, limit: limit)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

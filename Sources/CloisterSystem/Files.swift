#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCloisterShim

/// Small, bounded file-system reads. `/proc` files of hostile workloads can be huge or change
/// between reads, so every read has a cap and every failure names its path.
public enum Files {
    /// Reads at most `limit` bytes from `path`.
    public static func read(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let fd = try retryingInterrupts("open", path: path) { open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) }
        defer { close(fd) }
        return try readAll(fd: fd, path: path, limit: limit)
    }

    static func readAll(fd: Int32, path: String, limit: Int) throws -> [UInt8] {
        // Most /proc files fit in one page: read straight into the result, growing only when
        // a read fills what is left.
        var bytes = [UInt8](repeating: 0, count: min(limit, 4096))
        var filled = 0
        while filled < limit {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: min(bytes.count, limit - filled))) }
            let count = try bytes.withUnsafeMutableBytes { raw throws -> Int in
                try retryingInterrupts("read", path: path) {
                    Glibc.read(fd, raw.baseAddress! + filled, raw.count - filled)
                }
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// Reads at most `limit` bytes of `relative` inside the directory `root`, never leaving it:
    /// `..`, an absolute path or a symlink that points outside fails (EXDEV) rather than being
    /// followed; symlinks that stay inside are followed. Needs openat2 (Linux 5.6+); on an older
    /// kernel it throws ENOSYS rather than read without the guard.
    public static func readBeneath(root: String, relative: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let shown = root + "/" + relative
        guard RootedDirectory.isSupported else { throw SystemError("openat2 (beneath)", path: shown, errno: ENOSYS) }
        let rootFD = try retryingInterrupts("open", path: root) { open(root, cl_o_path() | O_DIRECTORY | O_CLOEXEC) }
        defer { close(rootFD) }
        let fd = try retryingInterrupts("openat2 (beneath)", path: shown) {
            cl_openat_beneath(rootFD, relative, O_RDONLY | O_NOCTTY | O_NONBLOCK)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("fstat", path: shown, errno: errno) }
        // A FIFO or device would block or read forever; only regular files are profiles.
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SystemError("read", path: shown, errno: EINVAL) }
        guard Int(info.st_size) <= limit else { throw SystemError("read", path: shown, errno: EFBIG) }
        return try readAll(fd: fd, path: shown, limit: limit)
    }

    /// Reads a small text file; `nil` when it does not exist.
    public static func readText(_ path: String, limit: Int = 1 << 20) throws -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// The target of a symbolic link (for /proc magic links, the kernel's description).
    public static func readLink(_ path: String) throws -> String {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(PATH_MAX) + 1) { buffer in
            let count = try retryingInterrupts("readlink", path: path) {
                readlink(path, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), buffer.count - 1)
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// Names in a directory, without `.` and `..`.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        return entries(of: dir).map(\.name)
    }

    public struct Entry: Sendable {
        public var name: String
        public var type: UInt8
    }

    static func entries(of dir: OpaquePointer) -> [Entry] {
        var names: [Entry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.prefix(while: { $0 != 0 })
                return SafeBytes.string(Array(bytes))
            }
            if name == "." || name == ".." { continue }
            names.append(Entry(name: name, type: entry.pointee.d_type))
        }
        return names
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public struct Status: Sendable {
        public var mode: UInt32
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0
        public var rdevMajor: UInt32
        public var rdevMinor: UInt32
        public var isCharDevice: Bool { mode & S_IFMT == S_IFCHR }
        public var isBlockDevice: Bool { mode & S_IFMT == S_IFBLK }
        public var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
    }

    /// lstat: never follows a final symlink.
    public static func status(_ path: String) throws -> Status {
        var info = stat()
        _ = try retryingInterrupts("lstat", path: path) { lstat(path, &info) }
        return Status(mode: info.st_mode, uid: info.st_uid, gid: info.st_gid, rdevMajor: cl_dev_major(UInt64(info.st_rdev)), rdevMinor: cl_dev_minor(UInt64(info.st_rdev)))
    }

    /// Writes all of `bytes` to an open descriptor (standard output, say), through short writes
    /// and interrupts, without copying them first.
    public static func write(_ bytes: [UInt8], to fd: Int32, name: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try bytes.withUnsafeBytes { (raw) throws -> Int in
                try retryingInterrupts("write", path: name) { Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            offset += written
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, then rename, so a
    /// reader sees the old content or the new, never half of either.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(base).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let temporary = String(cString: template)
        if fd < 0 { throw SystemError("create temporary file for", path: path, errno: errno) }
        var committed = false
        defer {
            close(fd)
            if !committed { unlink(temporary) }
        }
        var offset = 0
        while offset < bytes.count {
            let written = try bytes.withUnsafeBytes { (raw) throws -> Int in
                try retryingInterrupts("write", path: temporary) {
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
            }
            offset += written
        }
        _ = try retryingInterrupts("fchmod", path: temporary) { fchmod(fd, mode) }
        _ = try retryingInterrupts("fsync", path: temporary) { fsync(fd) }
        _ = try retryingInterrupts("rename", path: path) { rename(temporary, path) }
        committed = true
        // The rename is durable only once the directory is: without this, a crash right after
        // could bring back the old name's old content, or neither.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }
}

/// Decoding of raw bytes from the kernel; kept apart so the OS layer does not depend on the model.
enum SafeBytes {
    static func string(_ bytes: [UInt8]) -> String {
        // Lossless for valid UTF-8; invalid sequences become U+FFFD here and are escaped
        // properly by callers that care (they read the raw bytes through `Files.read`).
        String(decoding: bytes, as: UTF8.self)
    }
}

/// A directory opened as a root: every path below it resolves inside it, so a workload's
/// symlink (`/dev -> /host/dev`) can never lead the scanner out of the workload's root.
public final class RootedDirectory {
    private let fd: Int32
    public let path: String

    /// Opens `path` (typically `/proc/PID/root`) to serve as the root of later lookups.
    public init(path: String) throws {
        self.path = path
        fd = try retryingInterrupts("open", path: path) { open(path, cl_o_path() | O_DIRECTORY | O_CLOEXEC) }
    }

    deinit { close(fd) }

    public static var isSupported: Bool { cl_have_openat2() == 1 }

    /// Reads at most `limit` bytes of `relative`, resolved inside the root: a daemon's
    /// configuration read as that daemon sees it, never through a symlink out of its root.
    public func read(_ relative: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let fileFD = try retryingInterrupts("openat2 (in root)", path: "\(path)/\(relative)") {
            cl_openat_in_root(fd, relative, O_RDONLY | O_NOCTTY)
        }
        defer { close(fileFD) }
        return try Files.readAll(fd: fileFD, path: "\(path)/\(relative)", limit: limit)
    }

    /// Lists `relative` (resolved inside the root), returning each entry with its lstat.
    public func listDevices(in relative: String) throws -> [(name: String, status: Files.Status)] {
        let dirFD = try retryingInterrupts("openat2 (in root)", path: "\(path)/\(relative)") {
            cl_openat_in_root(fd, relative, O_RDONLY | O_DIRECTORY)
        }
        guard let dir = fdopendir(dirFD) else {
            let code = errno
            close(dirFD)
            throw SystemError("fdopendir", path: "\(path)/\(relative)", errno: code)
        }
        defer { closedir(dir) }
        var result: [(String, Files.Status)] = []
        for entry in Files.entries(of: dir) {
            var info = stat()
            if fstatat(dirfd(dir), entry.name, &info, AT_SYMLINK_NOFOLLOW) != 0 { continue }
            result.append((entry.name, Files.Status(
                mode: info.st_mode, uid: info.st_uid, rdevMajor: cl_dev_major(UInt64(info.st_rdev)), rdevMinor: cl_dev_minor(UInt64(info.st_rdev)))))
        }
        return result
    }
}

import CCloisterShim

#if canImport(Glibc)
import Glibc
#endif

/// The kernel's own change signals, for a rescan that reuses what has not changed:
/// - a mount table: an open `/proc/PID/mountinfo` polls POLLPRI (and POLLERR) once the mount
///   namespace's event counter has moved since the file was opened (any mount, unmount or
///   remount in that namespace);
/// - a cgroup's limits: a write to a cgroup file is a `write(2)`, which the VFS reports to
///   inotify as IN_MODIFY on that directory (so are files created or removed there, and the
///   directory's own removal).
///
/// Each watch belongs to a key (a workload). `changed()` hands back the keys whose watched
/// things moved since the last call, or `everything` when the kernel dropped events (inotify
/// queue overflow) and no key can be trusted. Not thread-safe: one scan at a time owns it.
public final class ChangeSignals {
    private let inotify: Int32
    private var mountWatches: [String: Int32] = [:]
    private var keysOfWatch: [Int32: Set<String>] = [:]
    private var watchesOfKey: [String: [Int32]] = [:]
    private var droppedEvents = false

    public init() {
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    }

    deinit {
        for fd in mountWatches.values { close(fd) }
        if inotify >= 0 { close(inotify) }
    }

    /// Watches the mount table `mountinfo` (a `/proc/PID/mountinfo` path) for `key`. Opened
    /// before the table is read, so a change between the read and the next scan is never lost.
    /// False when it cannot be opened (the process exited, or no file descriptor is left).
    public func watchMounts(key: String, mountinfo: String) -> Bool {
        if let old = mountWatches.removeValue(forKey: key) { close(old) }
        let fd = open(mountinfo, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        mountWatches[key] = fd
        return true
    }

    /// Watches each directory (a cgroup's) for `key`: written, created, removed, moved.
    /// False when any of them cannot be watched (gone, or the user's inotify watches are spent).
    public func watchDirectories(key: String, _ directories: [String]) -> Bool {
        guard inotify >= 0 else { return false }
        let mask = UInt32(IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
        var watches: [Int32] = []
        for directory in directories {
            let watch = inotify_add_watch(inotify, directory, mask)
            guard watch >= 0 else {
                release(key: key, watches)
                return false
            }
            watches.append(watch)
            keysOfWatch[watch, default: []].insert(key)
        }
        watchesOfKey[key, default: []] += watches
        return true
    }

    /// Drops every watch of `key` (its workload is gone or is being read again).
    public func forget(key: String) {
        if let fd = mountWatches.removeValue(forKey: key) { close(fd) }
        release(key: key, watchesOfKey.removeValue(forKey: key) ?? [])
    }

    private func release(key: String, _ watches: [Int32]) {
        for watch in watches {
            keysOfWatch[watch]?.remove(key)
            if keysOfWatch[watch]?.isEmpty == true {
                keysOfWatch[watch] = nil
                // The same directory watched for several workloads shares one descriptor.
                inotify_rm_watch(inotify, watch)
            }
        }
    }

    /// The keys whose mounts or watched directories changed since the last call; `everything`
    /// when events were lost. Clears what it reports.
    public func changed() -> (keys: Set<String>, everything: Bool) {
        var keys: Set<String> = []
        if !mountWatches.isEmpty {
            let entries = Array(mountWatches)
            var fds = entries.map { pollfd(fd: $0.value, events: Int16(POLLPRI), revents: 0) }
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 0) }
            if ready > 0 {
                for (index, fd) in fds.enumerated() where fd.revents & Int16(POLLPRI | POLLERR | POLLNVAL) != 0 {
                    keys.insert(entries[index].key)
                }
            }
        }
        var everything = droppedEvents
        droppedEvents = false
        if inotify >= 0 {
            let size = 64 << 10
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let count = read(inotify, buffer, size)
                guard count > 0 else { break }
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= count {
                    let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { everything = true }
                    if let owners = keysOfWatch[event.wd] { keys.formUnion(owners) }
                    if event.mask & UInt32(IN_IGNORED) != 0, let owners = keysOfWatch.removeValue(forKey: event.wd) {
                        // The directory is gone and its watch with it: its workloads are read again.
                        for owner in owners { watchesOfKey[owner]?.removeAll { $0 == event.wd } }
                    }
                    offset += header + Int(event.len)
                }
            }
        }
        return (keys, everything)
    }
}

/// Signals taken as data (`scan --watch`): a handler writes each to a pipe, and the scanning
/// thread reads them only when it waits between scans, so none interrupts a report half-written.
public enum SignalWaiting {
    /// Installs the handlers. False when the kernel refused (the signals then keep their
    /// default actions).
    public static func install(_ signals: [Int32]) -> Bool {
        signals.withUnsafeBufferPointer { cl_signal_pipe_install($0.baseAddress, Int32($0.count)) } == 0
    }

    /// Waits up to `seconds` for one of the installed signals; nil when none came.
    public static func wait(seconds: Double) -> Int32? {
        let milliseconds = Int32(clamping: Int(max(0, min(seconds, 86_400 * 365)) * 1000))
        let received = cl_signal_pipe_wait(milliseconds)
        return received > 0 ? received : nil
    }
}

import CCloisterShim
import CSeccomp
import CloisterProfiles
import Foundation
import Glibc

/// Records every syscall a command and its children make, through seccomp user notification:
/// the child installs a filter that notifies on every call (SECCOMP_RET_USER_NOTIF with
/// SECCOMP_FILTER_FLAG_NEW_LISTENER), the supervisor takes the listener with pidfd_getfd,
/// notes each call and answers SECCOMP_USER_NOTIF_FLAG_CONTINUE so the kernel runs it. Children
/// inherit the filter, so they are recorded too. Linux 5.9+ (CONTINUE), 5.6+ (pidfd_getfd).
public enum SyscallRecorder {
    public struct Recording: Sendable {
        public var record: LearnedRecord
        /// The command's exit status (or 128 + signal).
        public var status: Int32
    }

    public static func record(_ command: [String], listenerTimeout: Duration = .seconds(10)) throws -> Recording {
        var program = [UInt8](repeating: 0, count: 8)
        program.withUnsafeMutableBytes { cl_notify_everything_program($0.baseAddress) }
        let pid = try FilteredProcess.spawn(command, program: program, flags: cl_seccomp_flag_new_listener())
        let listener: Int32
        do {
            listener = try takeListener(of: pid, timeout: listenerTimeout)
        } catch {
            kill(pid, SIGKILL)
            _ = FilteredProcess.waitForExit(pid)
            throw error
        }
        defer { close(listener) }

        var record = LearnedRecord(commands: [command], recordings: 1)
        var names: [UInt64: String] = [:]
        var notification = cl_notification()
        var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while true {
            poller.revents = 0
            let ready = poll(&poller, 1, 1000)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SeccompError("poll(seccomp listener)", code: errno)
            }
            if ready == 0 { continue }
            if poller.revents & Int16(POLLIN) != 0 {
                if cl_notify_receive(listener, &notification) < 0 {
                    // ENOENT: the caller was killed between notification and receipt.
                    if errno == ENOENT || errno == EINTR { continue }
                    throw SeccompError("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", code: errno)
                }
                let key = UInt64(notification.arch) << 32 | UInt64(UInt32(bitPattern: notification.nr))
                let name = names[key] ?? {
                    let resolved = syscallName(arch: notification.arch, number: notification.nr)
                    names[key] = resolved
                    return resolved
                }()
                let arguments = withUnsafeBytes(of: notification.args) { Array($0.bindMemory(to: UInt64.self)) }
                record.note(architecture: architectureName(notification.arch, number: notification.nr),
                            syscall: name, arguments: arguments)
                if cl_notify_continue(listener, notification.id) < 0, errno != ENOENT {
                    throw SeccompError("ioctl(SECCOMP_IOCTL_NOTIF_SEND)", code: errno)
                }
            } else if poller.revents & Int16(POLLHUP | POLLERR) != 0 {
                // Every task that held the filter has exited.
                break
            }
        }
        return Recording(record: record, status: FilteredProcess.waitForExit(pid))
    }

    /// The child's listener descriptor, found by its /proc link name and copied over with
    /// pidfd_getfd. The child is blocked in its first filtered call (execve) until we answer.
    static func takeListener(of pid: pid_t, timeout: Duration) throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let directory = "/proc/\(pid)/fd"
        while clock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = (status >> 8) & 0xff
                throw SeccompError(
                    code == 126 ? "installing the recording filter (needs Linux 5.9+ user notification)"
                        : "starting the command (exit \(code))", code: code == 126 ? EPERM : ENOENT)
            }
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard let fd = Int32(entry),
                    let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(entry)"),
                    target == "anon_inode:seccomp notify"
                else { continue }
                let copy = cl_pidfd_getfd(pid, fd)
                if copy < 0 { throw SeccompError("pidfd_getfd(\(pid), \(fd))", code: errno) }
                return copy
            }
            usleep(500)
        }
        throw SeccompError("waiting for the seccomp listener of \(pid)", code: ETIMEDOUT)
    }

    static let auditArchX86_64: UInt32 = 0xC000_003E
    static let auditArchI386: UInt32 = 0x4000_0003
    static let x32SyscallBit: Int32 = 0x4000_0000

    static func architectureName(_ arch: UInt32, number: Int32) -> String {
        switch arch {
        case auditArchX86_64: return number & x32SyscallBit != 0 ? "x32" : "x86_64"
        case auditArchI386: return "x86"
        default: return String(format: "audit-arch-0x%08x", arch)
        }
    }

    static func syscallName(arch: UInt32, number: Int32) -> String {
        var token = arch
        if arch == auditArchX86_64, number & x32SyscallBit != 0 { token = seccomp_arch_resolve_name("x32") }
        guard let pointer = seccomp_syscall_resolve_num_arch(token, number) else { return "syscall-\(number)" }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

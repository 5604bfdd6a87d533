#ifndef CLOISTER_SHIM_H
#define CLOISTER_SHIM_H

// Thin wrappers for what Swift cannot call: variadic functions (prctl, ioctl) and raw
// syscalls without a libc wrapper (openat2, landlock_*). Every function returns -1 and
// leaves errno set on failure, like the call it wraps.

/// openat2(2) confined to `dirfd`: symlinks and ".." resolve as if `dirfd` were "/"
/// (RESOLVE_IN_ROOT) and /proc magic links are refused (RESOLVE_NO_MAGICLINKS). Used to read
/// inside a workload's root without following its symlinks out of it. O_CLOEXEC is added.
int cl_openat_in_root(int dirfd, const char *path, int flags);

/// openat2(2) that must stay beneath `dirfd` (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): an
/// absolute path, a ".." or a symlink that would leave it fails with EXDEV instead of being
/// followed. Used where the real reader (the kubelet) follows symlinks as the host sees them,
/// so re-rooting them (RESOLVE_IN_ROOT) would read a different file than it does.
int cl_openat_beneath(int dirfd, const char *path, int flags);

/// Whether openat2 exists on this kernel (5.6+): 1 yes, 0 no.
int cl_have_openat2(void);

/// prctl(PR_GET_NO_NEW_PRIVS) for the calling thread.
int cl_prctl_get_no_new_privs(void);
/// prctl(PR_SET_NO_NEW_PRIVS, 1).
int cl_prctl_set_no_new_privs(void);
/// prctl(PR_CAPBSET_DROP, cap).
int cl_prctl_capbset_drop(int cap);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL).
int cl_prctl_cap_ambient_clear_all(void);

/// ioctl(fd, KVM_GET_API_VERSION): 12 on every KVM since Linux 2.6.22.
int cl_kvm_get_api_version(int kvm_fd);

/// ioctl(fd, TIOCGWINSZ): the terminal's width in columns, or -1 with errno (ENOTTY when
/// `fd` is not a terminal); 0 when the terminal does not say.
int cl_terminal_columns(int fd);

/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the Landlock ABI
/// version, or -1 with errno ENOSYS/EOPNOTSUPP when Landlock is absent or disabled.
int cl_landlock_abi_version(void);

/// major()/minor() are macros in glibc.
unsigned int cl_dev_major(unsigned long long dev);
unsigned int cl_dev_minor(unsigned long long dev);
/// O_PATH is hidden behind _GNU_SOURCE in the headers Swift imports.
int cl_o_path(void);

// Seccomp: spawning under a filter, and the user-notification supervisor side.

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The hypervisor vendor signature of CPUID leaf 0x40000000 ("KVMKVMKVM", "TCGTCGTCGTCG",
/// "Microsoft Hv", "VMwareVMware", "XenVMMXenVMM", …) into `out` (13 bytes, NUL-terminated) when
/// CPUID leaf 1 reports a hypervisor (ECX bit 31). Returns 1 then, 0 on bare metal or off x86.
int cl_cpuid_hypervisor_vendor(char out[13]);

/// Forks; the child sets no_new_privs, installs the classic BPF program `bpf` (`bpf_len`
/// bytes, a multiple of 8) with seccomp(SECCOMP_SET_MODE_FILTER, flags), then execvp(file,
/// argv). Only async-signal-safe calls run between fork and exec. `flags` is passed to
/// seccomp(2) as is (SECCOMP_FILTER_FLAG_NEW_LISTENER for a recorder). When the filter cannot
/// be installed the child exits 126, when exec fails 127. Returns the child's pid or -1.
pid_t cl_spawn_filtered(const char *file, char *const argv[], const void *bpf, size_t bpf_len,
                        unsigned int flags);

/// SECCOMP_FILTER_FLAG_NEW_LISTENER.
unsigned int cl_seccomp_flag_new_listener(void);

/// A classic BPF program of one instruction: SECCOMP_RET_USER_NOTIF for every syscall.
/// Writes 8 bytes to `out`.
void cl_notify_everything_program(void *out);

/// The file descriptor `target_fd` of process `pid`, duplicated into this process with
/// pidfd_open + pidfd_getfd (Linux 5.6). -1 with errno on failure.
int cl_pidfd_getfd(pid_t pid, int target_fd);

/// One seccomp user notification, flattened.
struct cl_notification {
    uint64_t id;
    uint32_t pid;
    int32_t nr;
    uint32_t arch;
    uint64_t args[6];
};

/// ioctl(SECCOMP_IOCTL_NOTIF_RECV). -1 with errno (ENOENT: the caller died meanwhile).
int cl_notify_receive(int listener, struct cl_notification *out);

/// ioctl(SECCOMP_IOCTL_NOTIF_SEND) with SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the syscall run.
int cl_notify_continue(int listener, uint64_t id);

/// memfd_create(name, MFD_CLOEXEC): a buffer for libseccomp's fd-based export.
int cl_memfd(const char *name);

// Reading another thread's seccomp filters: PTRACE_SEIZE, PTRACE_INTERRUPT, a bounded wait
// for the stop, PTRACE_SECCOMP_GET_FILTER, PTRACE_DETACH. glibc's ptrace(3) is variadic.

/// ptrace(PTRACE_SEIZE, tid, 0, 0): attach without stopping or signalling the thread.
long cl_ptrace_seize(pid_t tid);
/// ptrace(PTRACE_INTERRUPT, tid, 0, 0): ask the seized thread for a ptrace stop.
long cl_ptrace_interrupt(pid_t tid);
/// ptrace(PTRACE_DETACH, tid, 0, signal): let it run, delivering `signal` if its stop held one.
long cl_ptrace_detach(pid_t tid, int signal);
/// ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index, buffer): with `buffer` NULL the filter's
/// instruction count, else the count copied into `buffer` (8 bytes an instruction).
long cl_ptrace_seccomp_get_filter(pid_t tid, unsigned long index, void *buffer);
/// Waits up to `timeout_us` microseconds for thread `tid` (a tracee of the caller) to report a
/// state change: waitpid(tid, status, __WALL | WNOHANG) polled. Returns tid, 0 on timeout, or
/// -1 with errno.
pid_t cl_wait_tracee(pid_t tid, int *status, long timeout_us);

/// Installs a handler for each of `signals` that writes the signal's number to a private pipe;
/// 0, or -1 with errno.
int cl_signal_pipe_install(const int *signals, int count);
/// Waits up to `timeout_ms` for a signal installed above: its number, 0 when none came, -1
/// when none was installed.
int cl_signal_pipe_wait(int timeout_ms);

#endif


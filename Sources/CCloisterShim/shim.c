#define _GNU_SOURCE
#include "cloister_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int cl_cpuid_hypervisor_vendor(char out[13]) {
    memset(out, 0, 13);
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1U << 31))) return 0;
    __cpuid(0x40000000, eax, ebx, ecx, edx);
    memcpy(out, &ebx, 4);
    memcpy(out + 4, &ecx, 4);
    memcpy(out + 8, &edx, 4);
    return 1;
#else
    return 0;
#endif
}

// openat2 with `resolve` and O_CLOEXEC, retried on EINTR and on EAGAIN (openat2(2): a
// concurrent rename or mount raced a `..` step of the confined walk).
static int cl_openat2(int dirfd, const char *path, int flags, unsigned long long resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = resolve;
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return (int)fd;
}

int cl_openat_in_root(int dirfd, const char *path, int flags) {
    return cl_openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int cl_openat_beneath(int dirfd, const char *path, int flags) {
    return cl_openat2(dirfd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
}

int cl_have_openat2(void) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_PATH;
    long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
    if (fd >= 0) {
        close((int)fd);
        return 1;
    }
    return errno == ENOSYS ? 0 : 1;
}

int cl_prctl_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
int cl_prctl_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int cl_prctl_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
int cl_prctl_cap_ambient_clear_all(void) {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int cl_kvm_get_api_version(int kvm_fd) { return ioctl(kvm_fd, KVM_GET_API_VERSION, 0); }

int cl_terminal_columns(int fd) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) < 0) return -1;
    return size.ws_col;
}

int cl_landlock_abi_version(void) {
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

unsigned int cl_dev_major(unsigned long long dev) { return major(dev); }
unsigned int cl_dev_minor(unsigned long long dev) { return minor(dev); }
int cl_o_path(void) { return O_PATH; }

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <signal.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

pid_t cl_spawn_filtered(const char *file, char *const argv[], const void *bpf, size_t bpf_len,
                        unsigned int flags) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    // The fork may come from a Swift worker thread, which blocks most signals, and the parent
    // may ignore some (SIGPIPE): both survive exec. A workload starts with a clean slate, or
    // it could not be stopped with SIGTERM.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    // Child. no_new_privs first: an unprivileged process may only install a filter with it
    // set, and it keeps a setuid program from shedding the filter's intent.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(126);
    struct sock_fprog prog;
    prog.len = (unsigned short)(bpf_len / sizeof(struct sock_filter));
    prog.filter = (struct sock_filter *)bpf;
    // The filter goes on last, immediately before exec, so that it judges the workload and
    // not our own setup. A listener fd, if asked for, is close-on-exec: the workload never
    // holds it, and the supervisor takes its own copy with pidfd_getfd.
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) _exit(126);
    execvp(file, argv);
    _exit(127);
}

unsigned int cl_seccomp_flag_new_listener(void) { return SECCOMP_FILTER_FLAG_NEW_LISTENER; }

void cl_notify_everything_program(void *out) {
    struct sock_filter only = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
    memcpy(out, &only, sizeof only);
}

int cl_pidfd_getfd(pid_t pid, int target_fd) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -1;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
    int saved = errno;
    close(pidfd);
    errno = saved;
    return fd;
}

int cl_notify_receive(int listener, struct cl_notification *out) {
    struct seccomp_notif request;
    // The kernel refuses a request buffer that is not zeroed (EINVAL).
    memset(&request, 0, sizeof request);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) < 0) return -1;
    out->id = request.id;
    out->pid = request.pid;
    out->nr = request.data.nr;
    out->arch = request.data.arch;
    for (int i = 0; i < 6; i++) out->args[i] = request.data.args[i];
    return 0;
}

int cl_notify_continue(int listener, uint64_t id) {
    struct seccomp_notif_resp response;
    memset(&response, 0, sizeof response);
    response.id = id;
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
}

int cl_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

// Seccomp filter reading (see the header).

#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

long cl_ptrace_seize(pid_t tid) { return syscall(SYS_ptrace, PTRACE_SEIZE, tid, 0L, 0L); }

long cl_ptrace_interrupt(pid_t tid) { return syscall(SYS_ptrace, PTRACE_INTERRUPT, tid, 0L, 0L); }

long cl_ptrace_detach(pid_t tid, int signal) { return syscall(SYS_ptrace, PTRACE_DETACH, tid, 0L, (long)signal); }

long cl_ptrace_seccomp_get_filter(pid_t tid, unsigned long index, void *buffer) {
    return syscall(SYS_ptrace, PTRACE_SECCOMP_GET_FILTER, tid, index, buffer);
}

pid_t cl_wait_tracee(pid_t tid, int *status, long timeout_us) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t result = waitpid(tid, status, __WALL | WNOHANG);
        if (result != 0) {
            if (result < 0 && errno == EINTR) continue;
            return result;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000L;
        if (elapsed >= timeout_us) return 0;
        // The stop usually comes within microseconds; poll finely at first, then back off.
        struct timespec pause = {0, elapsed < 1000 ? 20000L : 200000L};
        nanosleep(&pause, NULL);
    }
}

// Signals as data (`scan --watch`): the handler only writes the signal's number to a pipe
// (write(2) is async-signal-safe), and the scanning thread reads it when it waits between
// scans, so a signal never lands in the middle of a report. Blocking the signals instead is
// not enough: the Swift runtime's main thread does not keep the mask it was given.
#include <poll.h>
static int cl_signal_pipe[2] = {-1, -1};

static void cl_signal_to_pipe(int signal) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal;
    if (cl_signal_pipe[1] >= 0) (void)!write(cl_signal_pipe[1], &byte, 1);
    errno = saved;
}

int cl_signal_pipe_install(const int *signals, int count) {
    if (cl_signal_pipe[0] < 0 && pipe2(cl_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    for (int i = 0; i < count; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = cl_signal_to_pipe;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

int cl_signal_pipe_wait(int timeout_ms) {
    if (cl_signal_pipe[0] < 0) return -1;
    struct pollfd ready = {.fd = cl_signal_pipe[0], .events = POLLIN};
    for (;;) {
        int n = poll(&ready, 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        unsigned char byte;
        if (read(cl_signal_pipe[0], &byte, 1) == 1) return byte;
        return 0;
    }
}

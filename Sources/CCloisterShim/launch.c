#define _GNU_SOURCE
#include "cloister_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Rules for everything below `child_main`: the child is a raw clone of a multi-threaded
// process, so it calls only system calls and the string functions that touch no global state:
// no malloc, no stdio, no libcap (it allocates), no locks. Strings come prepared from Swift.
// Two glibc wrappers that look like plain syscalls are not, and hung the child when used:
// statvfs reads /proc/self/mountinfo through stdio (malloc's lock may be held by a thread that
// does not exist in the child), and setres[ug]id/setgroups broadcast the change to every
// thread glibc believes the process has (the parent's threads) and wait for them. So: statfs,
// and the raw system calls for identity.

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif

struct child_report {
    char step[64];
    char detail[192];
    int error_number;
};

static void copy_text(char *to, size_t size, const char *from) {
    size_t i = 0;
    if (from != NULL) {
        for (; from[i] != '\0' && i + 1 < size; i++) to[i] = from[i];
    }
    to[i] = '\0';
}

/// Tells the parent which step failed and why, then exits. The pipe is close-on-exec, so a
/// successful execve closes it with nothing written: that is how the parent knows it worked.
static void __attribute__((noreturn)) fail(int report_fd, const char *step, const char *detail) {
    struct child_report report;
    memset(&report, 0, sizeof report);
    report.error_number = errno;
    copy_text(report.step, sizeof report.step, step);
    copy_text(report.detail, sizeof report.detail, detail);
    ssize_t ignored = write(report_fd, &report, sizeof report);
    (void)ignored;
    _exit(127);
}

/// "a/b" joined into a caller's buffer; fails the launch when it does not fit.
static void join(char *out, size_t size, const char *base, const char *relative, int report_fd) {
    size_t base_length = strlen(base);
    while (*relative == '/') relative++;
    size_t relative_length = strlen(relative);
    if (base_length + 1 + relative_length + 1 > size) {
        errno = ENAMETOOLONG;
        fail(report_fd, "path", relative);
    }
    memcpy(out, base, base_length);
    out[base_length] = '/';
    memcpy(out + base_length + 1, relative, relative_length + 1);
}

/// The mount flags a read-only remount must keep: in a user namespace the kernel refuses to
/// clear nosuid/nodev/noexec/atime flags that a more privileged namespace locked on.
static unsigned long locked_flags(const char *path) {
    struct statfs info;
    unsigned long flags = 0;
    if (statfs(path, &info) != 0) return 0;
    if (info.f_flags & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flags & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flags & ST_NOEXEC) flags |= MS_NOEXEC;
    if (info.f_flags & ST_NOATIME) flags |= MS_NOATIME;
    if (info.f_flags & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (info.f_flags & ST_RELATIME) flags |= MS_RELATIME;
    return flags;
}

static void remount_read_only(const char *path, int report_fd) {
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(path), NULL) != 0)
        fail(report_fd, "remount read-only", path);
}

/// Bind `source` (host) on `target`, creating the mount point as a file or directory.
static void bind_into(const char *source, const char *target, int read_only, int report_fd) {
    struct stat info;
    if (stat(source, &info) != 0) fail(report_fd, "bind source", source);
    if (S_ISDIR(info.st_mode)) {
        if (mkdir(target, 0755) != 0 && errno != EEXIST) fail(report_fd, "mkdir mount point", target);
    } else {
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) fail(report_fd, "create mount point", target);
        if (fd >= 0) close(fd);
    }
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) fail(report_fd, "bind mount", source);
    if (read_only) remount_read_only(target, report_fd);
}

static int raw_setresuid(uint32_t id) { return (int)syscall(SYS_setresuid, id, id, id); }
static int raw_setresgid(uint32_t id) { return (int)syscall(SYS_setresgid, id, id, id); }

static int landlock_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size, uint32_t flags) {
    return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int landlock_add_rule(int ruleset, enum landlock_rule_type type, const void *attr, uint32_t flags) {
    return (int)syscall(SYS_landlock_add_rule, ruleset, type, attr, flags);
}

static int landlock_restrict_self(int ruleset, uint32_t flags) {
    return (int)syscall(SYS_landlock_restrict_self, ruleset, flags);
}

/// Writes a whole string to a file (for /proc files that take one write).
static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(text);
    ssize_t written = write(fd, text, length);
    int saved = errno;
    close(fd);
    errno = saved;
    return written == (ssize_t)length ? 0 : -1;
}

/// Blocks until the parent writes one byte on `sync_fd`. EOF (the parent closed it, or died)
/// ends the child before anything further happens.
static void wait_for_parent(int sync_fd, int report_fd, const char *detail) {
    char go = 0;
    ssize_t got;
    do {
        got = read(sync_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) {
        errno = EPIPE;
        fail(report_fd, "wait for parent", detail);
    }
}

/// The child, step by step. Each step stands where it does for the reason in its comment; the
/// order is the one bubblewrap, nsjail and runc converge on: namespaces, then identity maps,
/// then the filesystem (which needs full capabilities in the new namespaces), then the limits
/// and labels, then the dropping of privilege (capabilities, ids, no_new_privs), then the
/// self-restricting LSM (Landlock), then seccomp, and execve last.
static void __attribute__((noreturn)) child_main(const struct cl_launch_spec *spec, int sync_fd, int report_fd) {
    // 1. Wait for the parent. Namespaces were created by clone() itself (atomically, so no
    //    moment exists where the child runs in the host's namespaces with new privileges).
    //    Until the parent has written uid_map/gid_map the child is "nobody" with no usable
    //    identity: nothing else may run before. EOF instead of the byte means the parent died
    //    or gave up: exit.
    wait_for_parent(sync_fd, report_fd, "the parent exited before releasing the child");
    // If the supervising cloister dies, so does the workload (it would otherwise outlive its
    // verification and its cgroup cleanup).
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(report_fd, "prctl(PR_SET_PDEATHSIG)", "");

    // 3. Become root of the new user namespace: the maps are written, so uid 0 now maps to the
    //    host range and mounts are made by (and owned by) the namespace's root.
    if (spec->uid_map != NULL) {
        if (raw_setresgid(0) != 0) fail(report_fd, "setresgid(0)", "inside the user namespace");
        if (raw_setresuid(0) != 0) fail(report_fd, "setresuid(0)", "inside the user namespace");
    }

    // 4. Filesystem. First stop mount propagation, so nothing below leaks into the host's mount
    //    namespace (a shared "/" would propagate every mount back out).
    if (spec->namespace_flags & CLONE_NEWNS) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(report_fd, "make / private", "/");
    }
    char root[4096];
    char target[4096];
    if (spec->rootfs != NULL) {
        // pivot_root needs the new root to be a mount point: bind the directory on itself.
        copy_text(root, sizeof root, spec->rootfs);
        if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) != 0) fail(report_fd, "bind rootfs", root);
    } else {
        // A fresh tmpfs root: only what is bound into it exists (a read-only view of /usr).
        copy_text(root, sizeof root, spec->staging);
        if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0)
            fail(report_fd, "mount tmpfs root", root);
        for (size_t i = 0; i < spec->symlinks_count * 2; i += 2) {
            join(target, sizeof target, root, spec->symlinks[i + 1], report_fd);
            if (symlink(spec->symlinks[i], target) != 0) fail(report_fd, "symlink", target);
        }
        // /etc for the few host files bound into it (the loader cache, passwd, group).
        join(target, sizeof target, root, "etc", report_fd);
        if (mkdir(target, 0755) != 0) fail(report_fd, "mkdir /etc", target);
    }
    for (size_t i = 0; i < spec->binds_count; i++) {
        join(target, sizeof target, root, spec->binds[i].target, report_fd);
        bind_into(spec->binds[i].source, target, spec->binds[i].read_only, report_fd);
    }
    // proc after the PID namespace exists (we are its PID 1) so it shows only the workload.
    if (spec->mount_proc) {
        join(target, sizeof target, root, "proc", report_fd);
        if (mkdir(target, 0555) != 0 && errno != EEXIST) fail(report_fd, "mkdir /proc", target);
        if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            fail(report_fd, "mount proc", target);
    }
    // A minimal /dev: a tmpfs holding binds of the harmless host nodes (mknod is not allowed in
    // a user namespace, and a bind of each node exposes nothing else of the host's /dev).
    if (spec->mount_dev) {
        char node[4096];
        static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
        join(target, sizeof target, root, "dev", report_fd);
        if (mkdir(target, 0755) != 0 && errno != EEXIST) fail(report_fd, "mkdir /dev", target);
        if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
            fail(report_fd, "mount /dev tmpfs", target);
        for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
            char host[32] = "/dev/";
            copy_text(host + 5, sizeof host - 5, nodes[i]);
            join(node, sizeof node, target, nodes[i], report_fd);
            bind_into(host, node, 0, report_fd);
        }
        join(node, sizeof node, target, "shm", report_fd);
        if (mkdir(node, 01777) != 0) fail(report_fd, "mkdir /dev/shm", node);
        join(node, sizeof node, target, "fd", report_fd);
        if (symlink("/proc/self/fd", node) != 0) fail(report_fd, "symlink /dev/fd", node);
    }
    if (spec->mount_tmp) {
        join(target, sizeof target, root, "tmp", report_fd);
        if (mkdir(target, 01777) != 0 && errno != EEXIST) fail(report_fd, "mkdir /tmp", target);
        if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") != 0)
            fail(report_fd, "mount /tmp tmpfs", target);
    }
    // pivot_root, not chroot: the old root is detached from the namespace entirely, so no
    // ".." or fd trick reaches it. pivot_root(".", ".") stacks the old root under the new one
    // and the lazy unmount removes it without needing a directory for it.
    if (spec->namespace_flags & CLONE_NEWNS) {
        if (chdir(root) != 0) fail(report_fd, "chdir new root", root);
        if (syscall(SYS_pivot_root, ".", ".") != 0) fail(report_fd, "pivot_root", root);
        if (umount2(".", MNT_DETACH) != 0) fail(report_fd, "detach old root", "/");
        if (chdir("/") != 0) fail(report_fd, "chdir /", "/");
        // Read-only last among mounts: the mount points above had to be created first.
        if (spec->read_only_root) remount_read_only("/", report_fd);
    }

    // 4b. The cgroups. The parent creates them and moves this process into them while the
    //     filesystem above is built (their creation costs more wall time than any step here),
    //     and says so with a second byte. Everything so far was cloister's own code; from
    //     here on, and above all at execve, the limits apply.
    wait_for_parent(sync_fd, report_fd, "the parent gave up before the cgroups were joined");
    close(sync_fd);

    // 4c. The cgroup namespace, now that the parent has moved us into the workload's cgroups:
    //     unsharing it here makes that cgroup the namespace's root, so the workload sees "/" and
    //     cannot name (or escape to) the host's hierarchy. Cloning with it would have rooted the
    //     namespace at cloister's own cgroup instead. (Nothing before reads a cgroup path.)
    if (spec->namespace_flags & CLONE_NEWCGROUP) {
        if (unshare(CLONE_NEWCGROUP) != 0) fail(report_fd, "unshare(CLONE_NEWCGROUP)", "");
    }

    // 5. Hostname, while CAP_SYS_ADMIN over the new UTS namespace is still held.
    if (spec->hostname != NULL) {
        if (sethostname(spec->hostname, strlen(spec->hostname)) != 0) fail(report_fd, "sethostname", spec->hostname);
    }

    // 6. Resource limits: before dropping privilege (a limit set afterwards could be raised
    //    back by nothing, but setting them here keeps every privileged step together), and
    //    before execve so the program never runs without them.
    for (size_t i = 0; i < spec->rlimits_count; i++) {
        struct rlimit limit = {.rlim_cur = spec->rlimits[i].soft, .rlim_max = spec->rlimits[i].hard};
        if (setrlimit(spec->rlimits[i].resource, &limit) != 0) {
            char name[16] = "resource ";
            name[9] = (char)('0' + spec->rlimits[i].resource / 10);
            name[10] = (char)('0' + spec->rlimits[i].resource % 10);
            fail(report_fd, "setrlimit", name);
        }
    }

    // 7. Every inherited descriptor beyond stdio is marked close-on-exec (the report pipe is
    //    already), so the workload starts with 0, 1 and 2 only: no leaked cloister or host
    //    file reaches it. Marking rather than closing keeps the report pipe until execve.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(report_fd, "close_range", "3..");

    // 8. MAC exec labels: written to attr/exec, they take effect at execve. Before
    //    no_new_privs, which restricts which label transitions are allowed.
    if (spec->apparmor_exec != NULL) {
        char line[256] = "exec ";
        copy_text(line + 5, sizeof line - 5, spec->apparmor_exec);
        if (write_file("/proc/self/attr/apparmor/exec", line) != 0 && write_file("/proc/self/attr/exec", line) != 0)
            fail(report_fd, "AppArmor exec profile", spec->apparmor_exec);
    }
    if (spec->selinux_exec != NULL) {
        if (write_file("/proc/self/attr/exec", spec->selinux_exec) != 0)
            fail(report_fd, "SELinux exec label", spec->selinux_exec);
    }

    // 9. Capabilities and identity. The bounding set is cut first: it needs CAP_SETPCAP, which
    //    the next steps drop. Supplementary groups are cleared while CAP_SETGID is held. Then
    //    keep-caps across setuid, change gid before uid (after setuid we could not change gid),
    //    and set the final sets with capset; ambient raise last, as it requires the capability
    //    to be in both permitted and inheritable.
    for (int cap = 0; cap <= spec->last_cap; cap++) {
        if (spec->capabilities & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(report_fd, "drop bounding capability", "");
    }
    if (spec->set_groups && syscall(SYS_setgroups, 0, NULL) != 0) fail(report_fd, "setgroups", "");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail(report_fd, "prctl(PR_SET_KEEPCAPS)", "");
    if (raw_setresgid(spec->gid) != 0) fail(report_fd, "setresgid", "");
    if (raw_setresuid(spec->uid) != 0) fail(report_fd, "setresuid", "");
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
        uint32_t word = (uint32_t)(spec->capabilities >> (32 * i));
        data[i].effective = word;
        data[i].permitted = word;
        data[i].inheritable = word;
    }
    if (syscall(SYS_capset, &header, data) != 0) fail(report_fd, "capset", "");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail(report_fd, "clear ambient capabilities", "");
    for (int cap = 0; cap <= spec->last_cap; cap++) {
        if (!(spec->capabilities & (1ULL << cap))) continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) fail(report_fd, "raise ambient capability", "");
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) fail(report_fd, "prctl(PR_SET_KEEPCAPS, 0)", "");
    // The kernel clears the parent-death signal when credentials change (setresuid, capset):
    // set it again, or a workload whose cloister is killed would outlive it, unsupervised.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(report_fd, "prctl(PR_SET_PDEATHSIG)", "again");

    // 10. no_new_privs: after the identity change (it would not stop it, but nothing after
    //     needs privilege), before Landlock and seccomp, which require it of an unprivileged
    //     caller, and before execve so setuid binaries inside cannot regain privilege.
    if (spec->no_new_privs) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(report_fd, "prctl(PR_SET_NO_NEW_PRIVS)", "");
    }

    // 11. Landlock: after pivot_root (its rules name paths of the new root, and once enforced
    //     it forbids mount changes), after no_new_privs (required without CAP_SYS_ADMIN).
    if (spec->landlock_handled != 0) {
        struct landlock_ruleset_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.handled_access_fs = spec->landlock_handled;
        int ruleset = landlock_create_ruleset(&attr, sizeof attr, 0);
        if (ruleset < 0) fail(report_fd, "landlock_create_ruleset", "");
        for (size_t i = 0; i < spec->landlock_rules_count; i++) {
            int fd = open(spec->landlock_rules[i].path, O_PATH | O_CLOEXEC);
            if (fd < 0) fail(report_fd, "Landlock rule path", spec->landlock_rules[i].path);
            struct stat info;
            uint64_t access = spec->landlock_rules[i].access & spec->landlock_handled;
            // Directory-only rights on a file are refused with EINVAL: keep the file rights.
            if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) {
                access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
                          | LANDLOCK_ACCESS_FS_TRUNCATE
#endif
                    ;
            }
            struct landlock_path_beneath_attr beneath = {.allowed_access = access, .parent_fd = fd};
            if (landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0)
                fail(report_fd, "landlock_add_rule", spec->landlock_rules[i].path);
            close(fd);
        }
        if (landlock_restrict_self(ruleset, 0) != 0) fail(report_fd, "landlock_restrict_self", "");
        close(ruleset);
    }

    // 12. seccomp last: every earlier step makes system calls (mount, capset, landlock_*) that
    //     a workload's filter rightly forbids. Only execve follows, and the filter must allow
    //     it. It needs no_new_privs (or CAP_SYS_ADMIN, which is gone by now).
    if (spec->seccomp_bpf != NULL) {
        struct sock_fprog program = {
            .len = (unsigned short)(spec->seccomp_bpf_len / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)spec->seccomp_bpf,
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) fail(report_fd, "seccomp load", "");
    }

    // 13. execve. On success the close-on-exec report pipe closes empty.
    execve(spec->path, spec->argv, spec->envp);
    fail(report_fd, "execve", spec->path);
}

static void set_error(struct cl_launch_error *error, int number, const char *step, const char *detail) {
    error->error_number = number;
    copy_text(error->step, sizeof error->step, step);
    copy_text(error->detail, sizeof error->detail, detail);
}

static void pid_to_text(long value, char *text) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
    text[n] = '\0';
}

/// Reads the child's report: 0 when the pipe closed empty (execve succeeded), 1 with `error`
/// filled from the report, or -1 when the child died without a whole report.
static int read_report(int report_fd, struct cl_launch_error *error) {
    struct child_report report;
    size_t have = 0;
    while (have < sizeof report) {
        ssize_t got = read(report_fd, (char *)&report + have, sizeof report - have);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        have += (size_t)got;
    }
    if (have == 0) return 0;
    if (have != sizeof report) return -1;
    error->error_number = report.error_number;
    memcpy(error->step, report.step, sizeof error->step);
    memcpy(error->detail, report.detail, sizeof error->detail);
    error->step[sizeof error->step - 1] = '\0';
    error->detail[sizeof error->detail - 1] = '\0';
    return 1;
}

static void reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

int cl_launch_begin(const struct cl_launch_spec *spec, struct cl_launch_handle *handle, struct cl_launch_error *error) {
    memset(error, 0, sizeof *error);
    memset(handle, 0, sizeof *handle);
    int sync_pipe[2];
    int report_pipe[2];
    // The sync channel is a socket, not a pipe: the child may now fail (and exit) while the
    // caller sets up cgroups, and send(MSG_NOSIGNAL) to it then returns EPIPE where a pipe
    // write would kill this process with SIGPIPE.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_pipe) != 0) {
        set_error(error, errno, "socketpair", "");
        return -1;
    }
    if (pipe2(report_pipe, O_CLOEXEC) != 0) {
        set_error(error, errno, "pipe", "");
        close(sync_pipe[0]);
        close(sync_pipe[1]);
        return -1;
    }
    // clone with every namespace but cgroup (see step 2 of child_main). Used like fork: the
    // child continues on a copy of this stack.
    unsigned long flags = (unsigned long)(spec->namespace_flags & ~(uint64_t)CLONE_NEWCGROUP) | SIGCHLD;
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        close(sync_pipe[1]);
        close(report_pipe[0]);
        child_main(spec, sync_pipe[0], report_pipe[1]);
    }
    int saved = errno;
    close(sync_pipe[0]);
    close(report_pipe[1]);
    if (pid < 0) {
        set_error(error, saved, "clone", "creating the namespaces");
        close(sync_pipe[1]);
        close(report_pipe[0]);
        return -1;
    }
    handle->pid = (int)pid;
    handle->sync_fd = sync_pipe[1];
    handle->report_fd = report_pipe[0];

    // Maps first (setgroups before gid_map, as the kernel requires): until they are written
    // the child has no usable identity and waits.
    char path[64];
    char pid_text[24];
    pid_to_text(pid, pid_text);
    const char *failed_step = NULL;
    const char *failed_detail = NULL;
    if (spec->uid_map != NULL) {
        if (spec->setgroups_deny) {
            memcpy(path, "/proc/", 7);
            strcat(path, pid_text);
            strcat(path, "/setgroups");
            if (write_file(path, "deny") != 0) failed_step = "write setgroups", failed_detail = "deny";
        }
        if (failed_step == NULL) {
            memcpy(path, "/proc/", 7);
            strcat(path, pid_text);
            strcat(path, "/uid_map");
            if (write_file(path, spec->uid_map) != 0) failed_step = "write uid_map", failed_detail = spec->uid_map;
        }
        if (failed_step == NULL && spec->gid_map != NULL) {
            memcpy(path, "/proc/", 7);
            strcat(path, pid_text);
            strcat(path, "/gid_map");
            if (write_file(path, spec->gid_map) != 0) failed_step = "write gid_map", failed_detail = spec->gid_map;
        }
    }
    if (failed_step != NULL) {
        int step_errno = errno;
        cl_launch_abort(handle);
        set_error(error, step_errno, failed_step, failed_detail);
        return -1;
    }
    // Release the child to build its filesystem while the caller sets up the cgroups.
    char go = 1;
    if (send(handle->sync_fd, &go, 1, MSG_NOSIGNAL) != 1) {
        int step_errno = errno;
        cl_launch_abort(handle);
        set_error(error, step_errno, "release child", "");
        return -1;
    }
    return 0;
}

void cl_launch_abort(struct cl_launch_handle *handle) {
    if (handle->pid <= 0) return;
    close(handle->sync_fd);  // the child reads EOF and exits
    close(handle->report_fd);
    kill((pid_t)handle->pid, SIGKILL);
    reap((pid_t)handle->pid);
    handle->pid = 0;
}

int cl_launch_complete(const struct cl_launch_spec *spec, struct cl_launch_handle *handle, struct cl_launch_error *error) {
    memset(error, 0, sizeof *error);
    pid_t pid = (pid_t)handle->pid;
    char pid_text[24];
    pid_to_text(pid, pid_text);
    for (size_t i = 0; i < spec->cgroup_procs_count; i++) {
        if (write_file(spec->cgroup_procs[i], pid_text) != 0) {
            int step_errno = errno;
            // A child that failed in its own setup meanwhile cannot be moved: its report says
            // why, and is the better error.
            close(handle->sync_fd);
            kill(pid, SIGKILL);
            int reported = read_report(handle->report_fd, error);
            close(handle->report_fd);
            reap(pid);
            handle->pid = 0;
            if (reported != 1) set_error(error, step_errno, "join cgroup", spec->cgroup_procs[i]);
            return -1;
        }
    }
    // A child that failed meanwhile makes this fail with EPIPE; its report follows.
    char go = 1;
    ssize_t ignored = send(handle->sync_fd, &go, 1, MSG_NOSIGNAL);
    (void)ignored;
    close(handle->sync_fd);

    int reported = read_report(handle->report_fd, error);
    close(handle->report_fd);
    handle->pid = 0;
    if (reported == 0) return (int)pid;  // execve succeeded
    reap(pid);
    if (reported < 0) set_error(error, EPROTO, "child setup", "the child died before reporting");
    return -1;
}

int cl_launch(const struct cl_launch_spec *spec, struct cl_launch_error *error) {
    struct cl_launch_handle handle;
    if (cl_launch_begin(spec, &handle, error) != 0) return -1;
    return cl_launch_complete(spec, &handle, error);
}


uint64_t cl_landlock_fs_read(void) {
    return LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
}

uint64_t cl_landlock_fs_all(int abi) {
    uint64_t all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                   LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                   LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                   LANDLOCK_ACCESS_FS_MAKE_SYM;
    // ABI 2 adds REFER (1 << 13), ABI 3 TRUNCATE (1 << 14), ABI 5 IOCTL_DEV (1 << 15). REFER is
    // left out: handling it forbids renames across directories even where writes are allowed.
    if (abi >= 3) all |= 1ULL << 14;
    return all;
}

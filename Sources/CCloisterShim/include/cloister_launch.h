#ifndef CLOISTER_LAUNCH_H
#define CLOISTER_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

// The child side of `cloister launch`, in C because nothing may run between clone and execve
// that is not async-signal-safe: Swift's runtime takes locks and allocates, and the parent is
// multi-threaded. Swift prepares everything (strings, masks, the compiled seccomp BPF) into a
// plain `cl_launch_spec`; `cl_launch_begin` clones and hands the uid/gid maps over from the
// parent, `cl_launch_complete` the cgroups, and the child applies the confinement in the order
// documented in launch.c.

/// One bind mount into the new root: `source` on the host, `target` relative to the new root.
struct cl_bind {
    const char *source;
    const char *target;
    int read_only;
};

/// One rlimit to set (soft and hard); RLIM_INFINITY is ~0.
struct cl_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

/// One Landlock path-beneath rule: `access` is a LANDLOCK_ACCESS_FS_* mask.
struct cl_landlock_rule {
    const char *path;
    uint64_t access;
};

struct cl_launch_spec {
    /// Absolute path of the program inside the new root, its argv (NULL-ended) and envp.
    const char *path;
    char *const *argv;
    char *const *envp;

    /// CLONE_NEW* flags for clone(); CLONE_NEWCGROUP is taken out and applied by unshare()
    /// after the parent has moved the child into its cgroups (see launch.c).
    uint64_t namespace_flags;
    /// Written by the parent into /proc/PID/{uid_map,gid_map} ("0 100000 65536\n"); NULL: none.
    const char *uid_map;
    const char *gid_map;
    /// Write "deny" to /proc/PID/setgroups (required when the parent lacks CAP_SETGID).
    int setgroups_deny;
    /// cgroup.procs files the parent writes the child's PID into before releasing it.
    const char *const *cgroup_procs;
    size_t cgroup_procs_count;

    /// A directory to become "/", or NULL to build a tmpfs root holding `binds`.
    const char *rootfs;
    /// Mount point used when `rootfs` is NULL (a directory that exists; the tmpfs hides it
    /// only inside the new mount namespace).
    const char *staging;
    const struct cl_bind *binds;
    size_t binds_count;
    /// Symlinks created in a tmpfs root ("bin" -> "usr/bin"): pairs of target, link name.
    const char *const *symlinks;
    size_t symlinks_count;
    int mount_proc;
    int mount_dev;
    int mount_tmp;
    int read_only_root;

    const char *hostname;
    const struct cl_rlimit *rlimits;
    size_t rlimits_count;

    /// Identity inside the user namespace after setup.
    uint32_t uid;
    uint32_t gid;
    int set_groups;
    /// Capabilities kept (bit N = capability N). Bounding, permitted, effective, inheritable
    /// and ambient all end up equal to this mask (everything else dropped).
    uint64_t capabilities;
    int last_cap;

    int no_new_privs;
    /// "exec" label written to /proc/self/attr/exec (AppArmor profile or SELinux context).
    const char *apparmor_exec;
    const char *selinux_exec;

    /// Landlock: enabled when `landlock_handled` is non-zero.
    uint64_t landlock_handled;
    const struct cl_landlock_rule *landlock_rules;
    size_t landlock_rules_count;

    /// A classic BPF program (struct sock_filter[]) from seccomp_export_bpf; NULL: none.
    const void *seccomp_bpf;
    size_t seccomp_bpf_len;
};

/// Where a launch failed: the step's name ("pivot_root", "landlock_restrict_self", …), errno,
/// and a detail (the path or value concerned).
struct cl_launch_error {
    char step[64];
    char detail[192];
    int error_number;
};

/// A launch between `cl_launch_begin` and `cl_launch_complete`: the child, released to build
/// its filesystem, waits for its cgroups before anything the workload could feel.
struct cl_launch_handle {
    int pid;
    int sync_fd;
    int report_fd;
};

/// Clones the child and writes its uid/gid maps, then lets it build its root while the caller
/// creates the cgroups named in `spec->cgroup_procs`. Returns 0, or -1 with `error` filled (the
/// child is then gone).
int cl_launch_begin(const struct cl_launch_spec *spec, struct cl_launch_handle *handle, struct cl_launch_error *error);

/// Moves the child into `spec->cgroup_procs`, releases it to finish (cgroup namespace,
/// privileges, Landlock, seccomp, execve) and returns its PID once execve has succeeded, or -1
/// with `error` filled when any step failed (the child is then reaped).
int cl_launch_complete(const struct cl_launch_spec *spec, struct cl_launch_handle *handle, struct cl_launch_error *error);

/// Stops a begun launch (the caller could not create the cgroups): kills and reaps the child.
void cl_launch_abort(struct cl_launch_handle *handle);

/// Begin and complete with the cgroups already created.
int cl_launch(const struct cl_launch_spec *spec, struct cl_launch_error *error);

/// LANDLOCK_ACCESS_FS_* masks for an ABI version: everything handled, read-only, read-write.
uint64_t cl_landlock_fs_all(int abi);
uint64_t cl_landlock_fs_read(void);

#endif

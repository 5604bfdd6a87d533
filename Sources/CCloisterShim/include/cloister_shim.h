#ifndef CLOISTER_SHIM_H
#define CLOISTER_SHIM_H

// Thin wrappers for what Swift cannot call: variadic functions (prctl, ioctl) and raw
// syscalls without a libc wrapper (openat2, landlock_*). Every function returns -1 and
// leaves errno set on failure, like the call it wraps.

/// openat2(2) confined to `dirfd`: symlinks and ".." resolve as if `dirfd` were "/"
/// (RESOLVE_IN_ROOT) and /proc magic links are refused (RESOLVE_NO_MAGICLINKS). Used to read
/// inside a workload's root without following its symlinks out of it. O_CLOEXEC is added.
int cl_openat_in_root(int dirfd, const char *path, int flags);

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

/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the Landlock ABI
/// version, or -1 with errno ENOSYS/EOPNOTSUPP when Landlock is absent or disabled.
int cl_landlock_abi_version(void);

/// major()/minor() are macros in glibc.
unsigned int cl_dev_major(unsigned long long dev);
unsigned int cl_dev_minor(unsigned long long dev);
/// O_PATH is hidden behind _GNU_SOURCE in the headers Swift imports.
int cl_o_path(void);

#endif

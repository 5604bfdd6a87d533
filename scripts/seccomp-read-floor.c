// The floor under reading every workload's seccomp filters: only the per-thread kernel work a
// scan cannot skip to get the filters (docs/testing.md, scan benchmark), on one thread, with no
// decoding. For every thread of every process whose status shows Seccomp_filters > 0 (not this
// process, not a thread another tracer holds): PTRACE_SEIZE, PTRACE_INTERRUPT, waitpid for the
// stop, PTRACE_SECCOMP_GET_FILTER for each filter index (its length, then its program), and
// PTRACE_DETACH. Finding the threads (/proc listing and status reads) is timed apart: the scan
// reads those files anyway. Root (CAP_SYS_ADMIN, and no seccomp filter of its own).
//   cc -O2 -o /tmp/seccomp-read-floor scripts/seccomp-read-floor.c && /tmp/seccomp-read-floor
// `--poll` waits for the stop as cloister's cl_wait_tracee does (waitpid WNOHANG, then a
// 20 µs sleep, 200 µs after the first millisecond) instead of a blocking waitpid: the
// difference is what that polling costs.
// Prints one line on stdout:
//   ptrace_ms=X discovery_ms=Y processes=P threads=T filters=F instructions=I gone=G busy=B failed=E
// (gone: exited between discovery and the read; busy: another tracer took it meanwhile.)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

// The kernel caps a thread's filters at 32,768 instructions in all (MAX_INSNS_PER_PATH).
#define MAX_INSTRUCTIONS 32768
#define MAX_THREADS (1 << 20)

static struct sock_filter program[MAX_INSTRUCTIONS];
static char text[1 << 16];

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// Seccomp_filters and TracerPid of a status file; -1 when it cannot be read.
static int status_fields(const char *path, long *filters, long *tracer) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t total = 0, n;
    while (total < (ssize_t)sizeof text - 1 && (n = read(fd, text + total, sizeof text - 1 - total)) > 0) total += n;
    close(fd);
    text[total] = 0;
    char *line;
    *filters = 0;
    *tracer = 0;
    if ((line = strstr(text, "\nSeccomp_filters:"))) *filters = strtol(line + 17, NULL, 10);
    if ((line = strstr(text, "\nTracerPid:"))) *tracer = strtol(line + 11, NULL, 10);
    return 0;
}

// The stop, waited for by polling as the scanner does; the same result as a blocking waitpid.
static pid_t wait_polling(pid_t tid, int *status) {
    double start = now_ms();
    for (;;) {
        pid_t result = waitpid(tid, status, __WALL | WNOHANG);
        if (result != 0 && !(result < 0 && errno == EINTR)) return result;
        double elapsed_us = (now_ms() - start) * 1000;
        if (elapsed_us >= 250000) return 0;
        struct timespec pause = {0, elapsed_us < 1000 ? 20000L : 200000L};
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv) {
    int poll = argc > 1 && strcmp(argv[1], "--poll") == 0;
    pid_t self = getpid();
    static pid_t threads[MAX_THREADS];
    long thread_count = 0, processes = 0;
    char path[512];

    double discovery_start = now_ms();
    DIR *proc = opendir("/proc");
    if (!proc) { perror("/proc"); return 2; }
    struct dirent *e;
    while ((e = readdir(proc))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pid_t pid = (pid_t)atol(e->d_name);
        if (pid == self) continue;
        long filters, tracer;
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        if (status_fields(path, &filters, &tracer) < 0 || filters <= 0) continue;
        processes++;
        snprintf(path, sizeof path, "/proc/%d/task", pid);
        DIR *tasks = opendir(path);
        if (!tasks) continue;
        struct dirent *t;
        while ((t = readdir(tasks)) && thread_count < MAX_THREADS) {
            if (t->d_name[0] < '0' || t->d_name[0] > '9') continue;
            pid_t tid = (pid_t)atol(t->d_name);
            snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, tid);
            if (status_fields(path, &filters, &tracer) < 0 || filters <= 0 || tracer != 0) continue;
            threads[thread_count++] = tid;
        }
        closedir(tasks);
    }
    closedir(proc);
    double discovery_ms = now_ms() - discovery_start;

    long filter_total = 0, instructions = 0, gone = 0, busy = 0, failed = 0;
    double ptrace_start = now_ms();
    for (long i = 0; i < thread_count; i++) {
        pid_t tid = threads[i];
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
            // Gone since it was found, or taken by another tracer (a scan running beside
            // this one): what cloister reports as gone or unknown, not a failed read.
            int seize_errno = errno;
            char path[64];
            long filters = 0, tracer = 0;
            snprintf(path, sizeof path, "/proc/%d/status", tid);
            if (seize_errno == ESRCH || status_fields(path, &filters, &tracer) < 0) gone++;
            else if (seize_errno == EPERM && tracer != 0) busy++;
            else failed++;
            continue;
        }
        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
            if (errno == ESRCH) gone++; else failed++;
            ptrace(PTRACE_DETACH, tid, 0, 0);
            continue;
        }
        int status = 0;
        pid_t waited = poll ? wait_polling(tid, &status) : waitpid(tid, &status, __WALL);
        if (waited == tid && (WIFEXITED(status) || WIFSIGNALED(status))) { gone++; continue; }
        if (waited != tid || !WIFSTOPPED(status)) { failed++; continue; }
        for (long index = 0; index < MAX_INSTRUCTIONS; index++) {
            long count = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, NULL);
            if (count < 0) { if (errno != ENOENT || index == 0) failed++; break; }
            if (count > MAX_INSTRUCTIONS || ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, program) != count) {
                failed++;
                break;
            }
            filter_total++;
            instructions += count;
        }
        // The interrupt's stop is PTRACE_EVENT_STOP; any other stop is a signal handed back.
        int signal = (status >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(status);
        if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)signal) < 0) failed++;
    }
    double ptrace_ms = now_ms() - ptrace_start;

    printf("ptrace_ms=%.3f discovery_ms=%.3f processes=%ld threads=%ld filters=%ld instructions=%ld gone=%ld busy=%ld failed=%ld\n",
        ptrace_ms, discovery_ms, processes, thread_count, filter_total, instructions, gone, busy, failed);
    return 0;
}

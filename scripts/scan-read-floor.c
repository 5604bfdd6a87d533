// The floor under a whole-host scan: the bare /proc reads it cannot avoid, with no parsing,
// on one thread (docs/testing.md, scan benchmark). Build and time it with
//   cc -O2 -o /tmp/scan-read-floor scripts/scan-read-floor.c && perf stat -r 10 /tmp/scan-read-floor
// Per process: status, cgroup, the 8 ns links. Per process in a private mnt ns (containers):
// mountinfo, uid_map, gid_map, fd/ listing.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static char buf[1 << 20];
static long slurp(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long total = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    close(fd);
    return total;
}
int main(void) {
    static const char *ns[] = {"pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"};
    char path[512], link[256], hostmnt[64] = "";
    ssize_t n = readlink("/proc/2/ns/mnt", hostmnt, sizeof hostmnt - 1);
    if (n > 0) hostmnt[n] = 0;
    DIR *proc = opendir("/proc");
    struct dirent *e;
    long processes = 0, containers = 0, bytes = 0;
    while ((e = readdir(proc))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        processes++;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name); bytes += slurp(path);
        snprintf(path, sizeof path, "/proc/%s/cgroup", e->d_name); bytes += slurp(path);
        int privateMnt = 0;
        for (int i = 0; i < 8; i++) {
            snprintf(path, sizeof path, "/proc/%s/ns/%s", e->d_name, ns[i]);
            n = readlink(path, link, sizeof link - 1);
            if (n > 0) { link[n] = 0; if (i == 2 && strcmp(link, hostmnt) != 0) privateMnt = 1; }
        }
        if (!privateMnt) continue;
        containers++;
        snprintf(path, sizeof path, "/proc/%s/mountinfo", e->d_name); bytes += slurp(path);
        snprintf(path, sizeof path, "/proc/%s/uid_map", e->d_name); bytes += slurp(path);
        snprintf(path, sizeof path, "/proc/%s/gid_map", e->d_name); bytes += slurp(path);
        snprintf(path, sizeof path, "/proc/%s/fd", e->d_name);
        DIR *fds = opendir(path);
        if (fds) { while (readdir(fds)) {} closedir(fds); }
    }
    closedir(proc);
    fprintf(stderr, "%ld processes, %ld in a private mount namespace, %ld bytes\n", processes, containers, bytes);
    return 0;
}

/* A module granted no folder reaches no file of the host. Which preopens it has is printed:
 * none, as wasitest asks, or a runtime's own in-memory file system (Wasmer's `/`). */
#include <fcntl.h>
#include <unistd.h>
#include "probe.h"

int main(void) {
    int count = 0;
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t prestat;
        __wasi_errno_t err = __wasi_fd_prestat_get(fd, &prestat);
        if (err == __WASI_ERRNO_BADF) break;
        if (err) continue;
        char name[256] = {0};
        size_t len = prestat.u.dir.pr_name_len;
        if (len < sizeof name) __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len);
        see_string("preopen", name);
        count++;
    }
    SEE("preopens: %d", count);
    const char *host[] = {"/etc/passwd", "/proc/self/environ", "/etc/hostname", "/usr/bin/env"};
    for (int i = 0; i < 4; i++) {
        int fd = open(host[i], O_RDONLY);
        SEE("open %s: %s", host[i], fd < 0 ? errno_name(errno) : "OPENED");
        MUST(fd < 0, "the host's %s was opened", host[i]);
        if (fd >= 0) close(fd);
    }
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    SEE("open /: %s", fd < 0 ? errno_name(errno) : "opened");
    return probe_end();
}

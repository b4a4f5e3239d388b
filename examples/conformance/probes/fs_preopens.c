/* The only preopen is the folder the spec names, under its own name. */
#include "fs.h"

int main(void) {
    int count = 0, found = 0;
    __wasi_fd_t fd;
    for (fd = 3; fd < 64; fd++) {
        __wasi_prestat_t prestat;
        __wasi_errno_t err = __wasi_fd_prestat_get(fd, &prestat);
        if (err == __WASI_ERRNO_BADF) break;
        if (err) { SEE("fd %u: prestat_get %s", (unsigned)fd, errno_name(err)); continue; }
        char name[256] = {0};
        size_t len = prestat.u.dir.pr_name_len;
        if (len < sizeof name) __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len);
        see_string("preopen", name);
        count++;
        if (strcmp(name, "fs.dir") == 0) found = 1;
    }
    SEE("first fd past the preopens: %u", (unsigned)fd);
    MUST(found, "fs.dir is not preopened");
    MUST(count == 1, "%d preopens, expected only fs.dir", count);
    return probe_end();
}

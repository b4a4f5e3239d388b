/* The spec's `dirs` folder: preopened under its own name, a copy (writes stay in the job's
 * scratch directory), and without the `*.cleanup` leftovers of earlier runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

/* Whether some preopened directory has exactly this guest name. */
static int preopened(const char *name) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t prestat;
        if (__wasi_fd_prestat_get(fd, &prestat) != 0) continue;
        char buf[256];
        size_t len = prestat.u.dir.pr_name_len;
        if (len >= sizeof buf || __wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, len) != 0) continue;
        buf[len] = '\0';
        if (strcmp(buf, name) == 0) return 1;
    }
    return 0;
}

int main(void) {
    printf("preopen fs-tests.dir: %s\n", preopened("fs-tests.dir") ? "yes" : "no");
    FILE *in = fopen("fs-tests.dir/hello.txt", "r");
    if (!in) {
        perror("fs-tests.dir/hello.txt");
        return 1;
    }
    char line[128];
    while (fgets(line, sizeof line, in)) fputs(line, stdout);
    fclose(in);
    printf("stale.cleanup: %s\n", access("fs-tests.dir/stale.cleanup", F_OK) == 0 ? "present" : "absent");
    FILE *out = fopen("fs-tests.dir/written.cleanup", "w");
    if (!out) {
        perror("fs-tests.dir/written.cleanup");
        return 1;
    }
    fputs("written by a test\n", out);
    fclose(out);
    printf("wrote written.cleanup\n");
    return 0;
}

/* Nothing outside the preopened folder is reachable: not by `..`, not by an absolute path,
 * not through a symbolic link pointing out. A path that leaves the folder and comes back in
 * (`fs.dir/../fs.dir/seed.txt`) is refused by capability-based resolution (Wasmtime) and
 * resolved lexically by others: printed, not judged. */
#include "fs.h"

static void must_fail(const char *what, const char *path) {
    int fd = open(path, O_RDONLY);
    SEE("%s: %s", what, fd < 0 ? errno_name(errno) : "OPENED");
    MUST(fd < 0, "%s (%s) was opened", what, path);
    if (fd >= 0) close(fd);
}

int main(void) {
    int fd = open(DIR_ "../fs.dir/seed.txt", O_RDONLY);
    SEE("dot-dot out and back in: %s", fd < 0 ? errno_name(errno) : "opened");
    if (fd >= 0) close(fd);
    must_fail("dot-dot to the host", DIR_ "../../../../../../etc/passwd");
    must_fail("absolute host path", "/etc/passwd");
    int rc = symlink("/etc", DIR_ "link");
    SEE("symlink to /etc: %s", rc ? errno_name(errno) : "created");
    if (rc == 0) must_fail("through a symlink out", DIR_ "link/passwd");
    rc = symlink("../..", DIR_ "up");
    if (rc == 0) must_fail("through a relative symlink out", DIR_ "up/etc/passwd");
    return probe_end();
}

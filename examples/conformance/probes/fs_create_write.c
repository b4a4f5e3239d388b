/* Create, write, read back; O_EXCL refuses an existing file; O_APPEND appends. */
#include "fs.h"

int main(void) {
    int err = write_file(DIR_ "new.txt", "first\n");
    SEE("create: %s", errno_name(err));
    MUST(err == 0, "creating new.txt failed: %s", errno_name(err));
    int fd = open(DIR_ "new.txt", O_CREAT | O_EXCL | O_WRONLY, 0644);
    SEE("O_EXCL on an existing file: %s", fd < 0 ? errno_name(errno) : "opened");
    MUST(fd < 0 && errno == EEXIST, "O_CREAT|O_EXCL on an existing file did not fail with EEXIST");
    if (fd >= 0) close(fd);
    fd = open(DIR_ "new.txt", O_WRONLY | O_APPEND);
    MUST(fd >= 0, "O_APPEND open failed: %s", errno_name(errno));
    if (fd >= 0) {
        MUST(write(fd, "second\n", 7) == 7, "append write failed: %s", errno_name(errno));
        close(fd);
    }
    char buf[128];
    err = read_file(DIR_ "new.txt", buf, sizeof buf);
    see_string("new.txt", buf);
    MUST(err == 0 && strcmp(buf, "first\nsecond\n") == 0, "read back \"%s\" (%s)", buf, errno_name(err));
    return probe_end();
}

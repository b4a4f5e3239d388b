/* unlink removes a file; a missing one is ENOENT; a folder is not unlinked. */
#include "fs.h"

int main(void) {
    MUST(write_file(DIR_ "gone.txt", "x") == 0, "cannot create gone.txt");
    int rc = unlink(DIR_ "gone.txt");
    SEE("unlink: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "unlink failed");
    SEE("stat afterwards: %s", errno_name(exists(DIR_ "gone.txt")));
    MUST(exists(DIR_ "gone.txt") == ENOENT, "the file is still there");
    rc = unlink(DIR_ "gone.txt");
    SEE("unlink again: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0 && errno == ENOENT, "unlinking a missing file did not fail with ENOENT");
    MUST(mkdir(DIR_ "sub", 0755) == 0, "mkdir failed");
    rc = unlink(DIR_ "sub");
    SEE("unlink a folder: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0, "unlink removed a folder");
    return probe_end();
}

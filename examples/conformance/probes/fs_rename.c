/* rename moves a file, replaces an existing target, renames a folder; a missing source is ENOENT. */
#include "fs.h"

int main(void) {
    char buf[64];
    MUST(write_file(DIR_ "a.txt", "A") == 0, "cannot create a.txt");
    MUST(write_file(DIR_ "b.txt", "B") == 0, "cannot create b.txt");
    int rc = rename(DIR_ "a.txt", DIR_ "c.txt");
    SEE("rename to a new name: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "rename a.txt c.txt failed");
    MUST(exists(DIR_ "a.txt") == ENOENT, "a.txt is still there");
    rc = rename(DIR_ "c.txt", DIR_ "b.txt");
    SEE("rename over an existing file: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "rename over b.txt failed: %s", errno_name(errno));
    read_file(DIR_ "b.txt", buf, sizeof buf);
    MUST(strcmp(buf, "A") == 0, "b.txt holds \"%s\" after the rename, expected \"A\"", buf);
    MUST(exists(DIR_ "c.txt") == ENOENT, "c.txt is still there");
    MUST(mkdir(DIR_ "d1", 0755) == 0, "mkdir d1 failed: %s", errno_name(errno));
    rc = rename(DIR_ "d1", DIR_ "d2");
    SEE("rename a folder: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0 && exists(DIR_ "d2") == 0, "renaming a folder failed");
    rc = rename(DIR_ "nothing", DIR_ "else");
    SEE("rename a missing file: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0 && errno == ENOENT, "renaming a missing file did not fail with ENOENT");
    return probe_end();
}

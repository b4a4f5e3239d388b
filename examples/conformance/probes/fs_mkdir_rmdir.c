/* mkdir makes a folder (EEXIST the second time); rmdir removes an empty one and refuses a
 * non-empty one. */
#include "fs.h"

int main(void) {
    int rc = mkdir(DIR_ "made", 0755);
    SEE("mkdir: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "mkdir failed");
    struct stat st;
    MUST(stat(DIR_ "made", &st) == 0 && S_ISDIR(st.st_mode), "the new folder does not stat as a folder");
    rc = mkdir(DIR_ "made", 0755);
    SEE("mkdir again: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0 && errno == EEXIST, "mkdir of an existing folder did not fail with EEXIST");
    MUST(write_file(DIR_ "made/inside", "x") == 0, "cannot create a file in the folder");
    rc = rmdir(DIR_ "made");
    SEE("rmdir non-empty: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0, "rmdir removed a non-empty folder");
    MUST(unlink(DIR_ "made/inside") == 0, "unlink failed");
    rc = rmdir(DIR_ "made");
    SEE("rmdir empty: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "rmdir of an empty folder failed");
    MUST(exists(DIR_ "made") == ENOENT, "the folder is still there");
    rc = rmdir(DIR_ "seed.txt");
    SEE("rmdir a file: %s", rc ? errno_name(errno) : "ok");
    MUST(rc != 0, "rmdir removed a file");
    return probe_end();
}

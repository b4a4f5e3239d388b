/* A file of the preopened folder reads back byte for byte; a missing one is ENOENT. */
#include "fs.h"

int main(void) {
    char buf[128];
    int err = read_file(DIR_ "seed.txt", buf, sizeof buf);
    SEE("read seed.txt: %s", errno_name(err));
    see_string("seed.txt", buf);
    MUST(err == 0 && strcmp(buf, "hello, conformance\n") == 0, "seed.txt read as \"%s\" (%s)", buf, errno_name(err));
    err = read_file(DIR_ "missing.txt", buf, sizeof buf);
    SEE("read missing.txt: %s", errno_name(err));
    MUST(err == ENOENT, "opening a missing file gave %s", errno_name(err));
    return probe_end();
}

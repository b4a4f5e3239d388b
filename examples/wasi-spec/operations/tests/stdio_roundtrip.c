/* Everything read from stdin goes back out on stdout and on stderr (wasi-testsuite's
 * cli-stdio-roundtrip, in C): the spec's `write` is what it reads. */
#include <stdio.h>

int main(void) {
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        fwrite(buf, 1, n, stdout);
        fwrite(buf, 1, n, stderr);
    }
    return 0;
}

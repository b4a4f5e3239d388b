/* One byte less than the output cap to stdout: kept whole, not flagged as cut.
 * The project's output_cap is 64 KiB: wasitest keeps at most that much of each stream
 * and flags the rest as cut. */
#include "probe.h"

#define BYTES 65535L

int main(void) {
    static char block[4096];
    memset(block, 'x', sizeof block);
    long left = BYTES;
    while (left > 0) {
        size_t n = left < (long)sizeof block ? (size_t)left : sizeof block;
        size_t written = fwrite(block, 1, n, stdout);
        MUST(written == n, "fwrite wrote %zu of %zu bytes", written, n);
        if (written != n) break;
        left -= (long)n;
    }
    MUST(fflush(stdout) == 0, "fflush failed: %s", errno_name(errno));
    fprintf(stderr, "wrote %ld bytes to stdout\n", BYTES);
    return probe_end();
}

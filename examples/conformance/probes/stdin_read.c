/* Reads stdin to its end and prints how much came and a checksum. With an argument N it
 * requires exactly N bytes. The battery runs it with no stdin: the module must see an empty
 * stream (end of file at once), never the host's own stdin. The tests feed it small and
 * large inputs through each runtime. */
#include <unistd.h>
#include "probe.h"

int main(int argc, char **argv) {
    static unsigned char buf[65536];
    uint64_t total = 0, hash = 1469598103934665603ULL; /* FNV-1a, 64 bit */
    int error = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) { error = errno; break; }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) hash = (hash ^ buf[i]) * 1099511628211ULL;
        total += (uint64_t)n;
    }
    SEE("read: %s", errno_name(error));
    SEE("bytes: %llu", (unsigned long long)total);
    SEE("fnv1a: %016llx", (unsigned long long)hash);
    MUST(error == 0, "read(0) failed: %s", errno_name(error));
    if (argc > 1) MUST(total == strtoull(argv[1], NULL, 10), "%llu bytes, expected %s", (unsigned long long)total, argv[1]);
    return probe_end();
}

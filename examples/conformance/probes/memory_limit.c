/* Under the job's memory limit (32 MiB here) growing memory fails softly: memory.grow
 * returns -1 (it never traps), malloc returns NULL, and the module goes on. */
#include "probe.h"

static char *volatile kept[64];

int main(void) {
    size_t pages_before = __builtin_wasm_memory_size(0);
    long refused = (long)__builtin_wasm_memory_grow(0, 1024); /* 64 MiB more: over the limit */
    SEE("grow by 64 MiB: %s", refused == -1 ? "refused" : "granted");
    MUST(refused == -1, "memory.grow(1024 pages) returned %ld over a 32 MiB limit", refused);
    size_t mib = 0;
    while (mib < 64) {
        char *p = malloc(1 << 20);
        if (!p) break;
        memset(p, 0xA5, 1 << 20);
        kept[mib++] = p;
    }
    SEE("malloc stopped below the limit: %s", mib > 0 && mib < 32 ? "yes" : "no");
    MUST(mib > 0 && mib < 32, "allocated %zu MiB under a 32 MiB limit (memory was %zu pages)", mib, pages_before);
    long small = (long)__builtin_wasm_memory_grow(0, 0);
    SEE("memory.grow(0) afterwards: %s", small >= 0 ? "ok" : "refused");
    MUST(small >= 0, "memory.grow(0) failed");
    return probe_end();
}

/* random_get fills the buffer: two draws differ, and neither is all zeros. */
#include "probe.h"

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) if (p[i]) return 0;
    return 1;
}

int main(void) {
    static uint8_t a[64], b[64], big[1 << 16];
    __wasi_errno_t e1 = __wasi_random_get(a, sizeof a), e2 = __wasi_random_get(b, sizeof b);
    __wasi_errno_t e3 = __wasi_random_get(big, sizeof big);
    SEE("random_get: %s, %s, %s", errno_name(e1), errno_name(e2), errno_name(e3));
    MUST(e1 == 0 && e2 == 0 && e3 == 0, "random_get failed");
    int differ = memcmp(a, b, sizeof a) != 0;
    int zeros = all_zero(a, sizeof a) || all_zero(b, sizeof b) || all_zero(big + sizeof big - 64, 64);
    SEE("two draws differ: %s", differ ? "yes" : "no");
    SEE("a draw is all zeros: %s", zeros ? "yes" : "no");
    MUST(differ, "two 64-byte draws are equal");
    MUST(!zeros, "a draw is all zeros (the end of a 64 KiB draw included)");
    return probe_end();
}

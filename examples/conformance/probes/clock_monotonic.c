/* The monotonic clock never goes back, and it advances. */
#include "probe.h"

int main(void) {
    int64_t first = now_ns(__WASI_CLOCKID_MONOTONIC), last = first;
    int backwards = 0;
    MUST(first >= 0, "clock_time_get(monotonic) failed");
    for (int i = 0; i < 1000; i++) {
        int64_t t = now_ns(__WASI_CLOCKID_MONOTONIC);
        if (t < last) backwards++;
        last = t;
    }
    int64_t spins = 0;
    while (now_ns(__WASI_CLOCKID_MONOTONIC) == last && spins < 100000000) spins++;
    int advanced = now_ns(__WASI_CLOCKID_MONOTONIC) > first;
    SEE("went backwards: %s", backwards ? "yes" : "no");
    SEE("advances: %s", advanced ? "yes" : "no");
    MUST(!backwards, "went backwards %d times in 1000 reads", backwards);
    MUST(advanced, "did not advance");
    return probe_end();
}

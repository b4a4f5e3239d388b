/* nanosleep(10 ms) (poll_oneoff on a relative clock subscription) takes at least 10 ms on
 * the monotonic clock, every time: five tries, because a runtime whose timers count whole
 * milliseconds wakes early only now and then. */
#include "probe.h"

int main(void) {
    int early = 0, failed = 0;
    int64_t shortest = INT64_MAX;
    for (int i = 0; i < 5; i++) {
        int64_t before = now_ns(__WASI_CLOCKID_MONOTONIC);
        struct timespec ask = {0, 10 * 1000 * 1000};
        if (nanosleep(&ask, NULL) != 0) failed = errno;
        int64_t took = now_ns(__WASI_CLOCKID_MONOTONIC) - before;
        if (took < 10000000) early++;
        if (took < shortest) shortest = took;
    }
    SEE("nanosleep: %s", errno_name(failed));
    SEE("every sleep took at least what was asked: %s", early ? "no" : "yes");
    MUST(failed == 0, "nanosleep failed: %s", errno_name(failed));
    MUST(early == 0, "%d of 5 sleeps of 10000 us woke early, the shortest after %lld us", early,
         (long long)(shortest / 1000));
    return probe_end();
}

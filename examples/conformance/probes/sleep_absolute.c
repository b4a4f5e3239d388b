/* clock_nanosleep(TIMER_ABSTIME) (poll_oneoff with the abstime flag) wakes at the deadline:
 * not before it, and not a deadline's worth of nanoseconds later (a runtime that reads the
 * absolute time as relative sleeps for days: the job times out). */
#include "probe.h"

int main(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t before = now_ns(__WASI_CLOCKID_MONOTONIC);
    struct timespec deadline = now;
    deadline.tv_nsec += 10 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    int64_t took = now_ns(__WASI_CLOCKID_MONOTONIC) - before;
    SEE("clock_nanosleep: %s", rc == 0 ? "ok" : errno_name(rc));
    SEE("woke after the deadline: %s", took >= 10000000 ? "yes" : "no");
    SEE("woke within 2 s: %s", took < 2000000000LL ? "yes" : "no");
    MUST(rc == 0, "clock_nanosleep failed: %s", errno_name(rc));
    MUST(took >= 10000000, "woke after %lld us, before the deadline", (long long)(took / 1000));
    return probe_end();
}

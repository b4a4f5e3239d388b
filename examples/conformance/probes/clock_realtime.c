/* The realtime clock tells the time since 1970 in nanoseconds: a date after 2020 and before
 * 2200 (a runtime that returns micro- or milliseconds, or a zero clock, fails), agreeing with
 * libc's time(). */
#include "probe.h"

int main(void) {
    int64_t ns = now_ns(__WASI_CLOCKID_REALTIME);
    MUST(ns >= 0, "clock_time_get(realtime) failed");
    const int64_t y2020 = 1577836800LL, y2200 = 7258118400LL;
    int64_t seconds = ns / 1000000000LL;
    int plausible = seconds > y2020 && seconds < y2200;
    SEE("between 2020 and 2200: %s", plausible ? "yes" : "no");
    MUST(plausible, "realtime reads %lld ns", (long long)ns);
    time_t t = time(NULL);
    int64_t gap = (int64_t)t - seconds;
    SEE("agrees with time(): %s", gap >= 0 && gap <= 5 ? "yes" : "no");
    MUST(gap >= 0 && gap <= 5, "time() is %lld, the clock %lld", (long long)t, (long long)seconds);
    return probe_end();
}

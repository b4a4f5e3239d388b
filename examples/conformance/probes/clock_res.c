/* clock_res_get: the resolution of the realtime and monotonic clocks, printed (it is the
 * runtime's choice), between 1 ns and 1 s (a value outside is a wrong encoding). */
#include "probe.h"

static void clock_line(const char *name, __wasi_clockid_t clock) {
    __wasi_timestamp_t res = 0;
    __wasi_errno_t err = __wasi_clock_res_get(clock, &res);
    if (err) SEE("%s resolution: %s", name, errno_name(err));
    else SEE("%s resolution (ns): %llu", name, (unsigned long long)res);
    MUST(err == 0, "clock_res_get(%s) failed: %s", name, errno_name(err));
    MUST(err != 0 || (res >= 1 && res <= 1000000000ULL), "%s resolution is %llu ns (0x%016llx)", name,
         (unsigned long long)res, (unsigned long long)res);
    __wasi_timestamp_t t = 0;
    err = __wasi_clock_time_get(clock, 1, &t);
    SEE("%s time_get: %s", name, errno_name(err));
    MUST(err == 0, "clock_time_get(%s) failed: %s", name, errno_name(err));
}

int main(void) {
    clock_line("realtime", __WASI_CLOCKID_REALTIME);
    clock_line("monotonic", __WASI_CLOCKID_MONOTONIC);
    return probe_end();
}

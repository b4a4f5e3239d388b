/* The CPU-time clocks: preview 1 names them but lets a runtime refuse them, so what each
 * runtime answers is printed, not judged. Resolutions are printed as an order of magnitude, in
 * words (some runtimes report one that changes from run to run, and wasitest masks numbers
 * with time units before comparing outputs). */
#include "probe.h"

static const char *magnitude(__wasi_timestamp_t ns) {
    if (ns == 0) return "zero";
    if (ns == 1) return "one nanosecond";
    if (ns < 1000) return "finer than a microsecond";
    if (ns < 1000000) return "finer than a millisecond";
    if (ns < 1000000000) return "finer than a second";
    return "a second or coarser";
}

static void clock_line(const char *name, __wasi_clockid_t clock) {
    __wasi_timestamp_t res = 0, t = 0;
    __wasi_errno_t err = __wasi_clock_res_get(clock, &res);
    SEE("%s resolution: %s", name, err ? errno_name(err) : magnitude(res));
    err = __wasi_clock_time_get(clock, 1, &t);
    SEE("%s time_get: %s", name, errno_name(err));
}

int main(void) {
    clock_line("process_cputime", __WASI_CLOCKID_PROCESS_CPUTIME_ID);
    clock_line("thread_cputime", __WASI_CLOCKID_THREAD_CPUTIME_ID);
    return probe_end();
}

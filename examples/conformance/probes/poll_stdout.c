/* poll_oneoff on stdout being writable and a 2 s clock: the write event fires (without an
 * error: stdout is writable), and every event carries the userdata of its subscription. */
#include "probe.h"

int main(void) {
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    subs[0].u.u.fd_write.file_descriptor = 1;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 2000000000ULL;
    __wasi_event_t events[2];
    memset(events, 0, sizeof events);
    __wasi_size_t n = 0;
    int64_t before = now_ns(__WASI_CLOCKID_MONOTONIC);
    __wasi_errno_t err = __wasi_poll_oneoff(subs, events, 2, &n);
    int64_t took = now_ns(__WASI_CLOCKID_MONOTONIC) - before;
    SEE("poll_oneoff: %s", errno_name(err));
    SEE("events: %u", (unsigned)n);
    for (__wasi_size_t i = 0; i < n && i < 2; i++)
        SEE("event: userdata %llu, type %u, error %s", (unsigned long long)events[i].userdata,
            (unsigned)events[i].type, errno_name(events[i].error));
    SEE("returned before the clock: %s", took < 1500000000LL ? "yes" : "no");
    MUST(err == 0, "poll_oneoff failed: %s", errno_name(err));
    int writable = 0;
    for (__wasi_size_t i = 0; i < n && i < 2; i++) {
        MUST(events[i].userdata == 1 || events[i].userdata == 2, "event %u has userdata %llu, which no subscription has",
             (unsigned)i, (unsigned long long)events[i].userdata);
        if (events[i].userdata == 1 && events[i].type == __WASI_EVENTTYPE_FD_WRITE && events[i].error == 0) writable = 1;
    }
    MUST(writable, "no error-free fd_write event for stdout");
    return probe_end();
}

/* probe.h: what every conformance probe shares.
 *
 * A probe prints what it observed to stdout, one `what: value` line each, choosing values
 * that differ between runtimes but not between runs (so a difference in output is a
 * difference in behaviour, never noise), and checks only what WASI preview 1 requires of a
 * runtime: each requirement broken is one `FAIL FILE:LINE: ...` line on stderr and makes
 * the probe exit 1. A probe that passes on one runtime and fails on another has found a
 * runtime that breaks the specification; one whose output differs has found a runtime that
 * behaves differently where the specification lets it.
 */
#ifndef PROBE_H
#define PROBE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

static int probe_failures;

/* One observation: `what: value` on stdout. */
#define SEE(...) (printf(__VA_ARGS__), putchar('\n'))

/* A requirement of WASI preview 1 (or of wasitest's job contract). The message (printf style)
 * says what was seen instead: `FAIL FILE:LINE: MESSAGE` on stderr. */
#define MUST(cond, ...)                                                              \
    do {                                                                             \
        if (!(cond)) {                                                               \
            probe_failures++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

static inline int probe_end(void) {
    if (fflush(stdout) != 0) probe_failures++;
    fflush(stderr);
    return probe_failures ? 1 : 0;
}

/* The name of an errno value (wasi-libc's errno values are WASI's own). */
static inline const char *errno_name(int e) {
    static char other[24];
    switch (e) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTSUP: return "ENOTSUP";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    default: snprintf(other, sizeof other, "errno %d", e); return other;
    }
}

/* A string as one line: quoted, bytes outside printable ASCII as \xNN, so a runtime that
 * re-encodes or cuts a string shows exactly which bytes it changed. */
static inline void see_string(const char *label, const char *s) {
    fputs(label, stdout);
    fputs(": \"", stdout);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f) printf("\\x%02x", ch);
        else putchar(ch);
    }
    fputs("\"\n", stdout);
}

/* Nanoseconds on a clock, or -1 when the runtime refuses to read it. */
static inline int64_t now_ns(__wasi_clockid_t clock) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(clock, 1, &t) != 0) return -1;
    return (int64_t)t;
}

#endif

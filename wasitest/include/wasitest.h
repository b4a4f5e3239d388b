/* wasitest.h: a tiny C/C++ test header that speaks wasitest's "clist" protocol.
 *
 *     #include "wasitest.h"
 *     TEST(adds) { CHECK(1 + 1 == 2); CHECK_EQ_INT(add(2, 2), 4); }
 *     TEST(skipped_one) { SKIP("not on this platform"); }
 *
 * `main` is provided (a weak definition, so a program that has its own `main` keeps it;
 * define WASITEST_NO_MAIN before including to leave it out and call
 * `wasitest_main(argc, argv)` yourself). WASITEST_MAIN() is accepted and does nothing.
 *
 * Protocol (see docs/c-protocol.md):
 *   prog --list   prints each case name on its own line to stdout, in source order; exit 0
 *   prog NAME     runs exactly that case: exit 0 passed, 1 failed, 77 skipped;
 *                 a failed check prints `FILE:LINE: check failed: EXPR` (the *_EQ forms add
 *                 ` (LEFT != RIGHT)`), FAIL prints `FILE:LINE: failed: MSG`, and SKIP prints
 *                 `SKIP: REASON`, all to stderr
 *   prog BADNAME  an unknown name (or a bad option, or two arguments): message, exit 2
 *   prog          runs every case in order, prints `PASS/FAIL/SKIP name` lines and a
 *                 summary `N passed, N failed, N skipped`; exit 1 if any failed, else 0
 *
 * Checks:
 *   CHECK(cond)             records a failure and goes on
 *   CHECK_EQ_INT(a, b)      same, for integers (compared as long long), prints both values
 *   CHECK_EQ_STR(a, b)      same, for C strings (NULL allowed), prints both values quoted,
 *                           with bytes outside printable ASCII as \xNN
 *   REQUIRE(cond)           records a failure and returns from the case
 *   FAIL(msg)               records a failure with a message and returns from the case
 *   SKIP(reason)            marks the case skipped and returns from it
 * REQUIRE, FAIL and SKIP `return` from the enclosing function: use them in a TEST body
 * (in a void helper they record their verdict but only leave the helper). A case that both
 * failed and skipped counts as failed. A trap (e.g. __builtin_trap()) ends the instance:
 * the runner reports it.
 *
 * Cases register themselves through __attribute__((constructor)) functions (clang, gcc,
 * zig cc; works with wasi-libc). Shared state is weak, so several translation units of one
 * program may include this header. C99 or C++, no dependency beyond libc.
 */
#ifndef WASITEST_H
#define WASITEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wasitest_case {
    const char *name;
    void (*fn)(void);
    struct wasitest_case *next;
};

struct wasitest_state {
    struct wasitest_case *head, *tail;
    int failed, skipped;
};

/* One definition across all translation units that include this header. */
extern struct wasitest_state wasitest_g;
__attribute__((weak)) struct wasitest_state wasitest_g;

#ifdef __cplusplus
}
#endif

static inline void wasitest_register(struct wasitest_case *c) {
    c->next = NULL;
    if (wasitest_g.tail) wasitest_g.tail->next = c; else wasitest_g.head = c;
    wasitest_g.tail = c;
}

#define WASITEST_CAT_(a, b) a##b
#define TEST(name)                                                                         \
    static void WASITEST_CAT_(wasitest_fn_, name)(void);                                   \
    static struct wasitest_case WASITEST_CAT_(wasitest_case_, name) = {                    \
        #name, WASITEST_CAT_(wasitest_fn_, name), NULL};                                   \
    __attribute__((constructor)) static void WASITEST_CAT_(wasitest_reg_, name)(void) {    \
        wasitest_register(&WASITEST_CAT_(wasitest_case_, name));                           \
    }                                                                                      \
    static void WASITEST_CAT_(wasitest_fn_, name)(void)

/* One-line printing of a string value: quoted, bytes outside printable ASCII escaped. */
static inline void wasitest_put_str(const char *s) {
    if (!s) { fputs("NULL", stderr); return; }
    fputc('"', stderr);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(stderr, "\\%c", ch);
        else if (ch == '\n') fputs("\\n", stderr);
        else if (ch == '\t') fputs("\\t", stderr);
        else if (ch < 0x20 || ch >= 0x7f) fprintf(stderr, "\\x%02x", ch);
        else fputc(ch, stderr);
    }
    fputc('"', stderr);
}

static inline int wasitest_check(int ok, const char *file, int line, const char *expr) {
    if (!ok) {
        wasitest_g.failed = 1;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
    }
    return ok;
}

static inline int wasitest_check_int(long long a, long long b, const char *file, int line,
                                     const char *ea, const char *eb) {
    if (a == b) return 1;
    wasitest_g.failed = 1;
    fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", file, line, ea, eb, a, b);
    return 0;
}

static inline int wasitest_check_str(const char *a, const char *b, const char *file, int line,
                                     const char *ea, const char *eb) {
    if (a == b || (a && b && strcmp(a, b) == 0)) return 1;
    wasitest_g.failed = 1;
    fprintf(stderr, "%s:%d: check failed: %s == %s (", file, line, ea, eb);
    wasitest_put_str(a);
    fputs(" != ", stderr);
    wasitest_put_str(b);
    fputs(")\n", stderr);
    return 0;
}

#define CHECK(cond) ((void)wasitest_check(!!(cond), __FILE__, __LINE__, #cond))
#define CHECK_EQ_INT(a, b) \
    ((void)wasitest_check_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b))
#define CHECK_EQ_STR(a, b) \
    ((void)wasitest_check_str((a), (b), __FILE__, __LINE__, #a, #b))
#define REQUIRE(cond) \
    do { if (!wasitest_check(!!(cond), __FILE__, __LINE__, #cond)) return; } while (0)
#define FAIL(msg)                                                              \
    do {                                                                       \
        wasitest_g.failed = 1;                                                 \
        fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, (msg));    \
        return;                                                                \
    } while (0)
#define SKIP(reason)                                          \
    do {                                                      \
        wasitest_g.skipped = 1;                               \
        fprintf(stderr, "SKIP: %s\n", (reason));              \
        return;                                               \
    } while (0)

/* Runs one case; returns its exit code: 0 passed, 1 failed, 77 skipped. */
static inline int wasitest_run_case(const struct wasitest_case *c) {
    wasitest_g.failed = wasitest_g.skipped = 0;
    c->fn();
    fflush(stdout);
    fflush(stderr);
    return wasitest_g.failed ? 1 : wasitest_g.skipped ? 77 : 0;
}

static inline int wasitest_main(int argc, char **argv) {
    const struct wasitest_case *c;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "--list") != 0)) {
        fprintf(stderr, "usage: %s [--list | NAME]\n", argc > 0 ? argv[0] : "test");
        return 2;
    }
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (c = wasitest_g.head; c; c = c->next) printf("%s\n", c->name);
        return fflush(stdout) == 0 ? 0 : 2;
    }
    if (argc == 2) {
        for (c = wasitest_g.head; c; c = c->next)
            if (strcmp(c->name, argv[1]) == 0) return wasitest_run_case(c);
        fprintf(stderr, "wasitest: unknown case '%s' (see --list)\n", argv[1]);
        return 2;
    }
    {
        int passed = 0, failed = 0, skipped = 0;
        for (c = wasitest_g.head; c; c = c->next) {
            int code = wasitest_run_case(c);
            if (code == 0) passed++;
            else if (code == 77) skipped++;
            else failed++;
            printf("%s %s\n", code == 0 ? "PASS" : code == 77 ? "SKIP" : "FAIL", c->name);
            fflush(stdout);
        }
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
        return failed ? 1 : 0;
    }
}

#define WASITEST_MAIN()

#ifndef WASITEST_NO_MAIN
__attribute__((weak)) int main(int argc, char **argv) { return wasitest_main(argc, argv); }
#endif

#endif /* WASITEST_H */

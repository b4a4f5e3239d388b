/* Hostile cases against the memory limits of a job: a memory bomb, and recursion without
 * end. wasitest must stop each within the job's memory limit, or trap it, without the host
 * process growing (SECURITY.md; tests/hostile/test_hostile.py checks it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wasitest.h"

/* Every chunk is kept where the compiler cannot see it, so no malloc is elided. */
static char *volatile hoard[4096];

TEST(memory_bomb) {
    size_t chunks = 0;
    while (chunks < sizeof hoard / sizeof hoard[0]) {
        char *p = malloc(1 << 20);
        if (p == NULL) break;
        for (size_t i = 0; i < (1 << 20); i += 4096) p[i] = (char)(i | 1); /* touch every page */
        hoard[chunks++] = p;
    }
    printf("allocated %zu MiB\n", chunks);
    fflush(stdout);
    /* hold it a moment, so that a sampler of the host's memory sees the peak */
    struct timespec hold = {0, 300 * 1000 * 1000};
    nanosleep(&hold, NULL);
    CHECK(chunks < sizeof hoard / sizeof hoard[0]); /* malloc failed before 4 GiB */
}

/* Not a tail call (the result is used after the call), no locals in linear memory: this
 * exhausts the runtime's own call stack, not the C shadow stack. */
__attribute__((noinline)) static uint64_t deep(uint64_t n) {
    if (n == 0) return 1;
    return deep(n + 1) * 3 + n;
}

TEST(recursion) {
    printf("%llu\n", (unsigned long long)deep(1));
}

/* Big frames in linear memory: the C shadow stack runs out first. */
__attribute__((noinline)) static int deep_frames(int n) {
    volatile char frame[4096];
    frame[n % 4096] = (char)n;
    return deep_frames(n + 1) + frame[0];
}

TEST(recursion_frames) {
    printf("%d\n", deep_frames(1));
}

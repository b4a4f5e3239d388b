/* Cases that each test one guarantee of the runner: a limit enforced, a fresh scratch
 * directory, a trap reported as such. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "wasitest.h"

TEST(spin) {
    volatile unsigned long n = 0;
    for (;;) n++;
}

/* Keeping every chunk where the compiler cannot see it stops it from eliding the mallocs. */
static char *volatile kept[4097];

TEST(hog) {
    size_t chunks = 0;
    for (;;) {
        char *p = malloc(1 << 20);
        if (p == NULL) break;
        memset(p, 0xA5, 1 << 20);
        kept[chunks] = p;
        chunks++;
        if (chunks > 4096) break;
    }
    printf("allocated %zu MiB\n", chunks);
    CHECK(chunks > 0);
    CHECK(chunks < 32); /* the suite's memory limit is 32 MiB */
}

TEST(fresh_scratch) {
    CHECK(access("marker", F_OK) != 0);
    int fd = open("marker", O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(access("/tmp/marker", F_OK) == 0); /* "." and "/tmp" are the same scratch dir */
}

TEST(trap) {
    __builtin_trap();
}

static int deep(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    return deep(n + 1) + pad[0];
}

TEST(recurse) {
    printf("%d\n", deep(0));
}

TEST(flood) {
    /* 256 MiB to stdout, then one line to stderr: the runner keeps only the cap of each. */
    static char block[1 << 16];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 4096; i++) fwrite(block, 1, sizeof block, stdout);
    fflush(stdout);
    fprintf(stderr, "flooded\n");
}

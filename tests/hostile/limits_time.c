/* Hostile cases against the time and output limits of a job: an endless loop, and 2 GiB
 * written to stdout or stderr. wasitest must end each within the job's time limit and keep
 * only the output cap of each stream, without the flood costing memory or disk (SECURITY.md;
 * tests/hostile/test_hostile.py checks it). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wasitest.h"

TEST(spin) {
    volatile unsigned long n = 0;
    for (;;) n++;
}

static void flood(int fd) {
    static char block[1 << 16];
    memset(block, fd == 1 ? 'o' : 'e', sizeof block);
    long long total = 0;
    while (total < (2LL << 30)) { /* 2 GiB */
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) break;
        total += n;
    }
    dprintf(fd == 1 ? 2 : 1, "flooded %lld bytes\n", total);
}

TEST(flood_stdout) { flood(1); }
TEST(flood_stderr) { flood(2); }

/* Hostile cases against the disk limit of a job's scratch directory: one file growing to
 * 3 GiB, and tens of thousands of small files. wasitest must end each with a `disk_limit`
 * trap and keep the disk used near the limit, on every runtime that grants a scratch dir;
 * a job that stays within the limit must pass untouched (SECURITY.md;
 * tests/hostile/test_hostile.py checks it). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasitest.h"

static char block[1 << 20];

TEST(disk_fill) {
    memset(block, 'd', sizeof block);
    int fd = open("fill.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    long long total = 0;
    while (total < (3LL << 30)) { /* 3 GiB, or until a write is refused */
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) break;
        total += n;
    }
    close(fd);
    printf("wrote %lld bytes\n", total);
}

TEST(disk_many_files) {
    memset(block, 'm', 16 * 1024);
    REQUIRE(mkdir("many", 0755) == 0);
    long made = 0;
    char name[64];
    for (; made < 200000; made++) { /* 16 KiB each: 3 GiB in all */
        snprintf(name, sizeof name, "many/f%06ld", made);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) break;
        ssize_t n = write(fd, block, 16 * 1024);
        close(fd);
        if (n <= 0) break;
    }
    printf("made %ld files\n", made);
}

/* 4 MiB, well within the battery's limit, and read back whole: the watch must not touch it. */
TEST(disk_within_limit) {
    memset(block, 'w', sizeof block);
    int fd = open("within.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 4; i++) REQUIRE(write(fd, block, sizeof block) == (ssize_t)sizeof block);
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    long long read_back = 0;
    for (;;) {
        ssize_t n = read(fd, block, sizeof block);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i += 4096) REQUIRE(block[i] == 'w'); /* a byte a page: pywasm is slow */
        read_back += n;
    }
    close(fd);
    CHECK_EQ_INT(read_back, 4LL << 20);
}

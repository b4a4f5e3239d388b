/* lseek from the start, the current offset and the end; reads at the offset; a write past
 * the end leaves a hole of zeros. */
#include "fs.h"

int main(void) {
    int fd = open(DIR_ "seek.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    MUST(fd >= 0, "open failed: %s", errno_name(errno));
    if (fd < 0) return probe_end();
    char data[100];
    for (int i = 0; i < 100; i++) data[i] = (char)i;
    MUST(write(fd, data, 100) == 100, "write failed");
    off_t at = lseek(fd, 0, SEEK_CUR);
    SEE("after writing 100: %lld", (long long)at);
    MUST(at == 100, "tell %lld after writing 100 bytes", (long long)at);
    at = lseek(fd, 10, SEEK_SET);
    MUST(at == 10, "SEEK_SET 10 gave %lld", (long long)at);
    char got[5];
    MUST(read(fd, got, 5) == 5 && got[0] == 10 && got[4] == 14, "read at 10 gave other bytes");
    at = lseek(fd, 0, SEEK_CUR);
    SEE("SEEK_SET 10, read 5, tell: %lld", (long long)at);
    MUST(at == 15, "tell %lld, expected 15", (long long)at);
    at = lseek(fd, -10, SEEK_END);
    SEE("SEEK_END -10: %lld", (long long)at);
    MUST(at == 90, "SEEK_END -10 gave %lld", (long long)at);
    errno = 0;
    at = lseek(fd, -1000, SEEK_SET);
    if (errno) SEE("SEEK_SET -1000: %s", errno_name(errno));
    else SEE("SEEK_SET -1000: accepted, offset %lld", (long long)at);
    MUST(errno != 0, "seeking before the start succeeded (offset %lld)", (long long)at);
    at = lseek(fd, 200, SEEK_SET);
    MUST(at == 200 && write(fd, "!", 1) == 1, "writing at 200 failed");
    struct stat st;
    fstat(fd, &st);
    SEE("size after a write at 200: %lld", (long long)st.st_size);
    MUST(st.st_size == 201, "size %lld, expected 201", (long long)st.st_size);
    char hole[100];
    MUST(pread(fd, hole, 100, 100) == 100, "pread of the hole failed");
    int zeros = 1;
    for (int i = 0; i < 100; i++) if (hole[i]) zeros = 0;
    SEE("the hole reads as zeros: %s", zeros ? "yes" : "no");
    MUST(zeros, "the hole is not zeros");
    at = lseek(fd, 0, SEEK_CUR);
    MUST(at == 201, "pread moved the offset to %lld", (long long)at);
    SEE("seek on stdout: %s", lseek(1, 0, SEEK_CUR) < 0 ? errno_name(errno) : "accepted");
    close(fd);
    return probe_end();
}

/* fstat and stat report the size written, and the size ftruncate sets; the type is a file. */
#include "fs.h"

int main(void) {
    int fd = open(DIR_ "size.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    MUST(fd >= 0, "open failed: %s", errno_name(errno));
    if (fd < 0) return probe_end();
    static char block[12345];
    memset(block, 'y', sizeof block);
    MUST(write(fd, block, sizeof block) == (ssize_t)sizeof block, "write failed");
    struct stat st;
    MUST(fstat(fd, &st) == 0, "fstat failed: %s", errno_name(errno));
    SEE("fstat size: %lld", (long long)st.st_size);
    SEE("regular file: %s", S_ISREG(st.st_mode) ? "yes" : "no");
    MUST(st.st_size == 12345, "fstat size %lld, expected 12345", (long long)st.st_size);
    MUST(S_ISREG(st.st_mode), "not a regular file");
    MUST(ftruncate(fd, 100) == 0, "ftruncate failed: %s", errno_name(errno));
    fstat(fd, &st);
    SEE("after ftruncate(100): %lld", (long long)st.st_size);
    MUST(st.st_size == 100, "size %lld after ftruncate(100)", (long long)st.st_size);
    close(fd);
    MUST(stat(DIR_ "size.bin", &st) == 0, "stat failed");
    SEE("stat size: %lld", (long long)st.st_size);
    MUST(st.st_size == 100, "stat size %lld", (long long)st.st_size);
    MUST(stat(DIR_ "seed.txt", &st) == 0 && st.st_size == 19, "seed.txt stat size %lld, expected 19", (long long)st.st_size);
    MUST(stat(DIR_, &st) == 0 && S_ISDIR(st.st_mode), "the preopen does not stat as a folder");
    return probe_end();
}

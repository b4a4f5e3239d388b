/* Times set with utimensat and futimens read back; whole seconds exactly, and nanoseconds
 * as far as the runtime keeps them (printed). */
#include "fs.h"

int main(void) {
    MUST(write_file(DIR_ "t.txt", "t") == 0, "cannot create t.txt");
    struct timespec times[2] = {{1000000000, 0}, {1200000000, 0}};
    int rc = utimensat(AT_FDCWD, DIR_ "t.txt", times, 0);
    SEE("utimensat: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "utimensat failed");
    struct stat st;
    MUST(stat(DIR_ "t.txt", &st) == 0, "stat failed");
    SEE("atime: %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    SEE("mtime: %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    MUST(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 0, "atime reads %lld.%09ld",
         (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    MUST(st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 0, "mtime reads %lld.%09ld",
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    int fd = open(DIR_ "t.txt", O_RDWR);
    struct timespec fine[2] = {{1300000000, 123456789}, {1400000000, 987654321}};
    rc = futimens(fd, fine);
    SEE("futimens: %s", rc ? errno_name(errno) : "ok");
    MUST(rc == 0, "futimens failed");
    fstat(fd, &st);
    close(fd);
    SEE("atime: %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    SEE("mtime: %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    MUST(st.st_atim.tv_sec == 1300000000 && st.st_mtim.tv_sec == 1400000000, "futimens times read %lld, %lld",
         (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1500000000, 0}};
    rc = utimensat(AT_FDCWD, DIR_ "t.txt", omit, 0);
    stat(DIR_ "t.txt", &st);
    SEE("UTIME_OMIT atime, set mtime: %s, atime %lld, mtime %lld", rc ? errno_name(errno) : "ok",
        (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    MUST(rc == 0 && st.st_atim.tv_sec == 1300000000 && st.st_mtim.tv_sec == 1500000000, "UTIME_OMIT was not honoured");
    return probe_end();
}

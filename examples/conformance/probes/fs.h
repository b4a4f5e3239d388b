/* fs.h: helpers of the file-system probes, which run with the folder `fs.dir` preopened
 * under its own name (a fresh copy per job, holding `seed.txt`). */
#ifndef FS_H
#define FS_H

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probe.h"

#define DIR_ "fs.dir/"

/* Writes `text` to a new file; 0 or the errno. */
static inline int write_file(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return errno;
    size_t n = strlen(text);
    int rc = write(fd, text, n) == (ssize_t)n ? 0 : errno;
    close(fd);
    return rc;
}

/* Reads a whole small file into `buf`; 0 or the errno. */
static inline int read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno;
    ssize_t n = read(fd, buf, size - 1);
    int rc = n < 0 ? errno : 0;
    buf[n < 0 ? 0 : n] = '\0';
    close(fd);
    return rc;
}

/* 0 when `path` exists, else the errno of stat. */
static inline int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? 0 : errno;
}

#endif

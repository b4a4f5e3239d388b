/* Hostile cases against the sandbox: each tries to reach the host's files or environment.
 *
 * The escape cases aim at files the test made outside the job's scratch directory: their
 * folder is given as CANARY_DIR, and each case aims at its own file `CANARY_DIR/CASE.txt`,
 * so cases running side by side cannot spoil each other's evidence. A case reports every
 * route it tried on stdout (`WHAT ROUTE PATH: refused (...)` or `... OPENED ...`) and fails
 * when any route got through; the test also checks the host side (the secret never printed,
 * the files unchanged, nothing created outside the scratch dir), which no guest can fake. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "wasitest.h"

static int got_through;

static const char *canary_dir(void) {
    const char *dir = getenv("CANARY_DIR");
    return dir && dir[0] == '/' ? dir : "/nonexistent-canary-dir";
}

/* Print at most 80 bytes of what was read, escaped, on the rest of the line. */
static void show(const char *data, ssize_t n) {
    putchar('"');
    for (ssize_t i = 0; i < n && i < 80; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') putchar(ch);
        else printf("\\x%02x", ch);
    }
    putchar('"');
}

static void refused(const char *what, const char *route, const char *path) {
    printf("%s %s %s: refused (%s)\n", what, route, path, strerror(errno));
}

static void opened(const char *what, const char *route, const char *path) {
    got_through++;
    printf("%s %s %s: OPENED", what, route, path);
}

/* The routes to one absolute host path, as (route name, guest path) pairs. Symlinks are
 * planted here, in the scratch directory, pointing at the target and at `/`. */
#define MAX_ROUTES 10
#define UP16 "../../../../../../../../../../../../../../../../"
static char route_names[MAX_ROUTES][32];
static char route_paths[MAX_ROUTES][1024];
static int route_count;

static void add_route(const char *name, const char *path) {
    if (route_count == MAX_ROUTES) return;
    snprintf(route_names[route_count], sizeof route_names[0], "%s", name);
    snprintf(route_paths[route_count], sizeof route_paths[0], "%s", path);
    route_count++;
}

static void plant(const char *target, const char *link) {
    if (symlink(target, link) != 0) printf("symlink %s -> %s: refused (%s)\n", link, target, strerror(errno));
    else printf("symlink %s -> %s: planted\n", link, target);
}

/* `target` is absolute; `tag` keeps the links of several calls apart. */
static void routes_to(const char *target, const char *tag) {
    char path[1024], link[64];
    route_count = 0;
    /* more `..` than any scratch dir is deep (a host stops at `/`), then the path from `/` */
    snprintf(path, sizeof path, "%s%s", UP16, target + 1);
    add_route("dotdot", path);
    snprintf(path, sizeof path, "/tmp/%s%s", UP16, target + 1);
    add_route("tmp-dotdot", path);
    snprintf(link, sizeof link, "link-abs-%s", tag);
    plant(target, link);
    add_route("symlink-abs", link);
    snprintf(path, sizeof path, "%s%s", UP16, target + 1);
    snprintf(link, sizeof link, "link-rel-%s", tag);
    plant(path, link);
    add_route("symlink-rel", link);
    snprintf(link, sizeof link, "root-%s", tag);
    plant("/", link);
    snprintf(path, sizeof path, "%s%s", link, target);
    add_route("symlink-root", path);
    /* A relative link that stays inside when it is made, 16 folders down, then is moved
     * to the top: the same `..`s now lead out. A runtime that checks a link's target only
     * when it is made lets this one through. */
    char deep[256], moved[300];
    int used = snprintf(deep, sizeof deep, "moved-%s", tag);
    mkdir(deep, 0755);
    for (int i = 1; i < 16; i++) {
        used += snprintf(deep + used, sizeof deep - used, "/m");
        mkdir(deep, 0755);
    }
    snprintf(moved, sizeof moved, "%s/link", deep);
    snprintf(path, sizeof path, "%s%s", UP16, target + 1);
    /* made through a descriptor of the deep folder, as a runtime may check the target
     * against the folder the descriptor names rather than the preopen */
    int dir = open(deep, O_RDONLY | O_DIRECTORY);
    __wasi_errno_t made = dir < 0 ? __WASI_ERRNO_BADF : __wasi_path_symlink(path, (__wasi_fd_t)dir, "link");
    if (dir >= 0) close(dir);
    if (made != 0) printf("symlink %s -> %s: refused (%s)\n", moved, path, strerror(made));
    else printf("symlink %s -> %s: planted\n", moved, path);
    snprintf(link, sizeof link, "link-moved-%s", tag);
    if (rename(moved, link) != 0) printf("rename %s -> %s: refused (%s)\n", moved, link, strerror(errno));
    add_route("symlink-moved", link);
    /* A chain of links each of which looks inside to a lexical check ("x/.." is "."), but
     * the host resolves `..` after following the link: x -> ".", up1 -> "x/..", up2 ->
     * "up1/..", ...: each upN is N folders above the scratch dir. */
    char prev[64], next[64];
    snprintf(prev, sizeof prev, "x-%s", tag);
    plant(".", prev);
    for (int i = 1; i <= 16; i++) {
        snprintf(path, sizeof path, "%s/..", prev);
        snprintf(next, sizeof next, "up%d-%s", i, tag);
        if (symlink(path, next) != 0) {
            printf("symlink %s -> %s: refused (%s)\n", next, path, strerror(errno));
            break;
        }
        snprintf(prev, sizeof prev, "%s", next);
    }
    printf("symlink chain up to %s\n", prev);
    snprintf(path, sizeof path, "%s%s", prev, target);
    add_route("symlink-chain", path);
    /* last: pywasm raises (a trap) on some calls with a missing absolute path */
    add_route("absolute", target);
}

static void target_of(char *out, size_t size, const char *case_name) {
    snprintf(out, size, "%s/%s.txt", canary_dir(), case_name);
}

TEST(escape_read) {
    char target[512], buf[256];
    target_of(target, sizeof target, "escape_read");
    routes_to(target, "r");
    for (int i = 0; i < route_count; i++) {
        int fd = open(route_paths[i], O_RDONLY);
        if (fd < 0) {
            refused("read", route_names[i], route_paths[i]);
            continue;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        opened("read", route_names[i], route_paths[i]);
        printf(", %zd bytes: ", n);
        show(buf, n);
        putchar('\n');
    }
    /* the folder itself: listing it, through the same routes */
    routes_to(canary_dir(), "d");
    for (int i = 0; i < route_count; i++) {
        DIR *dir = opendir(route_paths[i]);
        if (dir == NULL) {
            refused("list", route_names[i], route_paths[i]);
            continue;
        }
        opened("list", route_names[i], route_paths[i]);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) printf(" %s", entry->d_name);
        putchar('\n');
        closedir(dir);
    }
    /* files of the host that any sandbox must hide */
    static const char *host_files[] = {"/etc/passwd", "/etc/hostname", "/proc/self/environ", "/proc/self/cmdline"};
    for (size_t i = 0; i < sizeof host_files / sizeof host_files[0]; i++) {
        int fd = open(host_files[i], O_RDONLY);
        if (fd < 0) {
            refused("read", "host-file", host_files[i]);
            continue;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        opened("read", "host-file", host_files[i]);
        printf(", %zd bytes: ", n);
        show(buf, n);
        putchar('\n');
    }
    CHECK_EQ_INT(got_through, 0);
}

TEST(escape_write) {
    char target[512], path[1200];
    target_of(target, sizeof target, "escape_write");
    routes_to(target, "w");
    for (int i = 0; i < route_count; i++) {
        int fd = open(route_paths[i], O_WRONLY | O_TRUNC);
        if (fd < 0) {
            refused("write", route_names[i], route_paths[i]);
        } else {
            ssize_t n = write(fd, "PWNED\n", 6);
            close(fd);
            opened("write", route_names[i], route_paths[i]);
            printf(", wrote %zd bytes\n", n);
        }
        /* a new mtime, without opening it */
        if (utimensat(AT_FDCWD, route_paths[i], NULL, 0) == 0) {
            opened("touch", route_names[i], route_paths[i]);
            putchar('\n');
        }
    }
    /* new files beside the target, and in the folders above the scratch dir */
    routes_to(canary_dir(), "c");
    for (int i = 0; i < route_count; i++) {
        snprintf(path, sizeof path, "%s/hostile-escape-%s", route_paths[i], route_names[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            refused("create", route_names[i], path);
            continue;
        }
        close(fd);
        opened("create", route_names[i], path);
        putchar('\n');
    }
    for (int depth = 1; depth <= 6; depth++) {
        int used = 0;
        path[0] = '\0';
        for (int i = 0; i < depth; i++) used += snprintf(path + used, sizeof path - used, "../");
        snprintf(path + used, sizeof path - used, "hostile-escape-up%d", depth);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            refused("create", "up", path);
            continue;
        }
        close(fd);
        opened("create", "up", path);
        putchar('\n');
    }
    CHECK_EQ_INT(got_through, 0);
}

/* A route whose last component is the planted link: renaming or deleting it touches only
 * the link, in the scratch dir. */
static int is_link(int i) {
    return strcmp(route_names[i], "symlink-abs") == 0 || strcmp(route_names[i], "symlink-rel") == 0
        || strcmp(route_names[i], "symlink-moved") == 0;
}

TEST(escape_delete) {
    char target[512];
    target_of(target, sizeof target, "escape_delete");
    routes_to(target, "x");
    for (int i = 0; i < route_count; i++) {
        if (is_link(i)) continue;
        /* moving the target into the scratch dir */
        if (rename(route_paths[i], "stolen") == 0) {
            opened("rename", route_names[i], route_paths[i]);
            putchar('\n');
        } else {
            refused("rename", route_names[i], route_paths[i]);
        }
        if (unlink(route_paths[i]) == 0) {
            opened("unlink", route_names[i], route_paths[i]);
            putchar('\n');
        } else {
            refused("unlink", route_names[i], route_paths[i]);
        }
    }
    CHECK_EQ_INT(got_through, 0);
}

/* Links the test data brings: the spec of this case preopens the folder `planted.dir`,
 * in which the test made links pointing at CANARY_DIR and its file `escape_planted.txt`,
 * absolute and relative, as a project's test data may hold (the data is copied into the
 * scratch dir with its links). Through none of them may the guest reach the target. */
TEST(escape_planted) {
    static const char *routes[] = {
        "planted.dir/file-abs",
        "planted.dir/file-rel",
        "planted.dir/dir-abs/escape_planted.txt",
        "planted.dir/dir-rel/escape_planted.txt",
    };
    char buf[256];
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int fd = open(routes[i], O_RDONLY);
        if (fd < 0) {
            refused("read", "planted", routes[i]);
        } else {
            ssize_t n = read(fd, buf, sizeof buf);
            close(fd);
            opened("read", "planted", routes[i]);
            printf(", %zd bytes: ", n);
            show(buf, n);
            putchar('\n');
        }
        fd = open(routes[i], O_WRONLY | O_APPEND);
        if (fd < 0) {
            refused("write", "planted", routes[i]);
        } else {
            ssize_t n = write(fd, "PWNED\n", 6);
            close(fd);
            opened("write", "planted", routes[i]);
            printf(", wrote %zd bytes\n", n);
        }
    }
    static const char *creates[] = {"planted.dir/dir-abs/hostile-escape-planted-abs",
                                    "planted.dir/dir-rel/hostile-escape-planted-rel"};
    for (size_t i = 0; i < sizeof creates / sizeof creates[0]; i++) {
        int fd = open(creates[i], O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            refused("create", "planted", creates[i]);
            continue;
        }
        close(fd);
        opened("create", "planted", creates[i]);
        putchar('\n');
    }
    CHECK_EQ_INT(got_through, 0);
}

/* ------------------------------------------------------------------------ environment */

extern char **environ;

TEST(env_probe) {
    /* everything the guest sees; the suite grants exactly CANARY_DIR and HOSTILE_GRANTED */
    int unexpected = 0;
    for (char **entry = environ; *entry != NULL; entry++) {
        printf("env %s\n", *entry);
        if (strncmp(*entry, "CANARY_DIR=", 11) != 0 && strncmp(*entry, "HOSTILE_GRANTED=", 16) != 0) unexpected++;
    }
    CHECK_EQ_INT(unexpected, 0);
    CHECK(getenv("PATH") == NULL);
    CHECK(getenv("HOME") == NULL);
    CHECK(getenv("HOSTILE_HOST_SECRET") == NULL);
    CHECK_EQ_STR(getenv("HOSTILE_GRANTED"), "yes");
}

/* What a command sees of WASI, the same as a p1 module and as a p2 component: its
 * arguments, the environment it was granted, its scratch directory, its clocks. */
#include "wasitest.h"
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

TEST(greeting_is_granted) {
    const char *greeting = getenv("GREETING");
    REQUIRE(greeting != NULL);
    CHECK_EQ_STR(greeting, "hello");
}

TEST(host_env_is_hidden) {
    CHECK(getenv("HOME") == NULL);
    CHECK(getenv("PATH") == NULL);
}

TEST(write_read_and_list_the_scratch_dir) {
    REQUIRE(mkdir("sub", 0755) == 0);
    FILE *f = fopen("sub/note.txt", "w");
    REQUIRE(f != NULL);
    fputs("component or module\n", f);
    REQUIRE(fclose(f) == 0);
    char line[64];
    f = fopen("sub/note.txt", "r");
    REQUIRE(f != NULL);
    REQUIRE(fgets(line, sizeof line, f) != NULL);
    fclose(f);
    CHECK_EQ_STR(line, "component or module\n");
    int entries = 0;
    DIR *d = opendir("sub");
    REQUIRE(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) entries++;
    closedir(d);
    CHECK_EQ_INT(entries, 1);
}

TEST(tmp_is_the_scratch_dir_too) {
    FILE *f = fopen("/tmp/t.txt", "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK(access("t.txt", F_OK) == 0);
}

TEST(no_way_out_of_the_scratch_dir) {
    CHECK(fopen("../escape.txt", "w") == NULL);
    CHECK(fopen("/etc/passwd", "r") == NULL);
}

TEST(clocks_move_forward) {
    struct timespec a, b;
    REQUIRE(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    REQUIRE(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
    CHECK(time(NULL) > 1700000000);
}

TEST(output_reaches_the_report) {
    printf("to stdout\n");
    fprintf(stderr, "to stderr\n");
}

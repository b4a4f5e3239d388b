#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "wasitest.h"

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

TEST(formats_numbers) {
    char buf[64];
    snprintf(buf, sizeof buf, "%d|%5.2f|%x|%s", -42, 3.14159, 255u, "wasi");
    CHECK_EQ_STR(buf, "-42| 3.14|ff|wasi");
    snprintf(buf, sizeof buf, "%lld", (long long)INT64_MIN);
    CHECK_EQ_STR(buf, "-9223372036854775808");
}

TEST(parses_numbers) {
    char *end = NULL;
    CHECK_EQ_INT(strtol("  0x1f rest", &end, 0), 31);
    CHECK_EQ_STR(end, " rest");
    errno = 0;
    strtol("99999999999999999999", NULL, 10);
    CHECK_EQ_INT(errno, ERANGE);
}

TEST(sorts) {
    int v[] = {5, -1, 3, 3, 0};
    qsort(v, 5, sizeof v[0], compare_ints);
    int want[] = {-1, 0, 3, 3, 5};
    CHECK(memcmp(v, want, sizeof v) == 0);
}

TEST(tokenizes) {
    char line[] = "a,,b,c";
    int count = 0;
    for (char *tok = strtok(line, ","); tok; tok = strtok(NULL, ",")) count++;
    CHECK_EQ_INT(count, 3);
}

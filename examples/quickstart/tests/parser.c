#include "wasitest.h"
#include "../src/calc.h"

static long eval(const char *s) {
    long v = 0;
    return calc_eval(s, &v) == 0 ? v : -999999;
}

TEST(numbers) {
    CHECK_EQ_INT(eval("0"), 0);
    CHECK_EQ_INT(eval("  42 "), 42);
    CHECK_EQ_INT(eval("-7"), -7);
}

TEST(precedence) {
    CHECK_EQ_INT(eval("1 + 2 * 3"), 7);
    CHECK_EQ_INT(eval("10 - 4 - 3"), 3);
    CHECK_EQ_INT(eval("7 / 2 * 2"), 6);
}

TEST(parentheses) {
    CHECK_EQ_INT(eval("(1 + 2) * 3"), 9);
    CHECK_EQ_INT(eval("-(2 * (3 + 4))"), -14);
}

TEST(rejects_bad_input) {
    long v;
    CHECK(calc_eval("", &v) == -1);
    CHECK(calc_eval("1 +", &v) == -1);
    CHECK(calc_eval("(1", &v) == -1);
    CHECK(calc_eval("2 x 3", &v) == -1);
    CHECK(calc_eval("1 / 0", &v) == -1);
}

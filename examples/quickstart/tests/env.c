/* The environment a suite grants (`env` in pyproject.toml), and nothing else. */
#include "wasitest.h"

TEST(greeting_is_granted) {
    const char *g = getenv("GREETING");
    REQUIRE(g != NULL);
    CHECK_EQ_STR(g, "hello");
}

TEST(host_env_is_hidden) {
    CHECK(getenv("PATH") == NULL);
    CHECK(getenv("HOME") == NULL);
}

TEST(slow_checks) {
    if (getenv("QUICKSTART_SLOW") == NULL) SKIP("set QUICKSTART_SLOW=1 in the suite's env to run");
    unsigned long long sum = 0;
    for (unsigned i = 0; i < 100000000u; i++) sum += i;
    CHECK(sum == 4999999950000000ull);
}

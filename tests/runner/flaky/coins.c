/* Twenty coin flips: each case fails with probability 1/2 (WASI random_get), so a run
 * with enough retries sees flaky cases and, almost surely, no failures. */
#include <stdlib.h>
#include "wasitest.h"

static int heads(void) {
    unsigned char b = 0;
    arc4random_buf(&b, 1);
    return b & 1;
}

TEST(coin_00) { CHECK(heads()); }
TEST(coin_01) { CHECK(heads()); }
TEST(coin_02) { CHECK(heads()); }
TEST(coin_03) { CHECK(heads()); }
TEST(coin_04) { CHECK(heads()); }
TEST(coin_05) { CHECK(heads()); }
TEST(coin_06) { CHECK(heads()); }
TEST(coin_07) { CHECK(heads()); }
TEST(coin_08) { CHECK(heads()); }
TEST(coin_09) { CHECK(heads()); }
TEST(coin_10) { CHECK(heads()); }
TEST(coin_11) { CHECK(heads()); }
TEST(coin_12) { CHECK(heads()); }
TEST(coin_13) { CHECK(heads()); }
TEST(coin_14) { CHECK(heads()); }
TEST(coin_15) { CHECK(heads()); }
TEST(coin_16) { CHECK(heads()); }
TEST(coin_17) { CHECK(heads()); }
TEST(coin_18) { CHECK(heads()); }
TEST(coin_19) { CHECK(heads()); }

#include "wasitest.h"
#include "../src/ring.h"

TEST(fifo_order) {
    struct ring r;
    ring_init(&r);
    for (int i = 1; i <= 3; i++) CHECK(ring_push(&r, i * 10));
    int v = 0;
    REQUIRE(ring_pop(&r, &v));
    CHECK_EQ_INT(v, 10);
    REQUIRE(ring_pop(&r, &v));
    CHECK_EQ_INT(v, 20);
}

TEST(full_ring_refuses_push) {
    struct ring r;
    ring_init(&r);
    for (int i = 0; i < RING_CAP; i++) CHECK(ring_push(&r, i));
    CHECK(!ring_push(&r, 99));
    CHECK_EQ_INT(r.len, RING_CAP);
}

TEST(wraps_around) {
    struct ring r;
    ring_init(&r);
    int v = 0;
    for (int round = 0; round < 3 * RING_CAP; round++) {
        CHECK(ring_push(&r, round));
        REQUIRE(ring_pop(&r, &v));
        CHECK_EQ_INT(v, round);
    }
    CHECK(!ring_pop(&r, &v));
}

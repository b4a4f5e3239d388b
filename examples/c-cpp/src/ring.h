/* A fixed-size ring buffer of ints: the C code under test. Header-only. */
#ifndef CCPP_RING_H
#define CCPP_RING_H

#include <stddef.h>

#define RING_CAP 4

struct ring {
    int items[RING_CAP];
    size_t head, len;
};

static void ring_init(struct ring *r) { r->head = r->len = 0; }

/* Appends v; returns 0 when the ring is full (nothing is overwritten). */
static int ring_push(struct ring *r, int v) {
    if (r->len == RING_CAP) return 0;
    r->items[(r->head + r->len) % RING_CAP] = v;
    r->len++;
    return 1;
}

/* Removes the oldest item into *out; returns 0 when the ring is empty. */
static int ring_pop(struct ring *r, int *out) {
    if (r->len == 0) return 0;
    *out = r->items[r->head];
    r->head = (r->head + 1) % RING_CAP;
    r->len--;
    return 1;
}

#endif

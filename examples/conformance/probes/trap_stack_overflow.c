/* Unbounded recursion exhausts the stack and traps.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

static unsigned deep(unsigned n) {
    volatile char frame[256];
    frame[n % sizeof frame] = (char)n;
    return deep(n + 1) + frame[(n * 7) % sizeof frame];
}

int main(void) {
    printf("survived: %u\n", deep(0));
    return 0;
}

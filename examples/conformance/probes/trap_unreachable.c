/* The unreachable instruction traps (__builtin_trap, and so abort()).
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

int main(void) {
    __builtin_trap();
    puts("survived");
    return 0;
}

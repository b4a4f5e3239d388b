/* A store beyond the end of linear memory traps.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

int main(void) {
    *(volatile int *)(uintptr_t)0xfffffff0u = 1;
    puts("survived");
    return 0;
}

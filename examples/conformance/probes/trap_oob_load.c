/* A load beyond the end of linear memory traps.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

int main(void) {
    volatile int *far = (volatile int *)(uintptr_t)0xfffffff0u;
    printf("survived: read %d\n", *far);
    return 0;
}

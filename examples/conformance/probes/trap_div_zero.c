/* Integer division by zero traps (i32.div_s).
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

static volatile int zero = 0, one = 1;

int main(void) {
    printf("survived: 1 / 0 = %d\n", one / zero);
    return 0;
}

/* INT_MIN / -1 traps (i32.div_s overflow).
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

#include <limits.h>

static volatile int min = INT_MIN, minus_one = -1;

int main(void) {
    printf("survived: INT_MIN / -1 = %d\n", min / minus_one);
    return 0;
}

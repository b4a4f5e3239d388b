/* A call through a function pointer of the wrong type traps (call_indirect
 * checks the signature).
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

static int one_arg(int x) { return x + 1; }

typedef int (*two_args)(int, int);

int main(void) {
    two_args volatile f = (two_args)(void *)one_arg;
    printf("survived: %d\n", f(1, 2));
    return 0;
}

/* A call through a null function pointer traps (table slot 0 is empty).
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

typedef void (*fn)(void);

int main(void) {
    fn volatile f = 0;
    f();
    puts("survived");
    return 0;
}

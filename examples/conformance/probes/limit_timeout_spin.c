/* A busy loop is stopped at the job's time limit.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

static volatile unsigned long sink;

int main(void) {
    for (;;) sink++;
}

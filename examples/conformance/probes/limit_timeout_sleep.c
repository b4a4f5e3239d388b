/* A module blocked in a WASI call (a one-hour poll_oneoff) is stopped at the job's
 * time limit too.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

#include <unistd.h>

int main(void) {
    sleep(3600);
    puts("survived");
    return 0;
}

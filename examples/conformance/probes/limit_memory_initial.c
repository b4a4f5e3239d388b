/* A module whose initial memory (48 MiB of zeroed data) is over the job's
 * memory limit (32 MiB) is not run.
 * Its suite declares it as expected to fail: a trap (or the limit) makes it `xfailed`;
 * surviving to the end makes it `xpassed`, a failure. */
#include "probe.h"

static volatile char big[48 << 20];

int main(void) {
    big[sizeof big - 1] = 1;
    printf("survived: %d\n", big[sizeof big - 1]);
    return 0;
}

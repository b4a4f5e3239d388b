/* exit(1 << 30): outside 0..255, what the host reports is the runtime's choice, but a program
 * that asked to fail must not be reported as succeeding. The suite declares these as
 * expected to fail (xfail): a non-zero status or a trap is `xfailed`; status 0 is
 * `xpassed`, a failure. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("exiting with %d\n", 1 << 30);
    exit(1 << 30);
}

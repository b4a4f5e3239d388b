/* exit(126): the status the runtime reports must be 126 (preview 1's proc_exit takes any u32). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("exiting with 126\n"); /* exit() flushes stdio: this line must reach the output */
    exit(126);
}

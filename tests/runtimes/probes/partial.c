/* What a runtime keeps of a trapped guest's output, and whether its own error message is
 * told apart from the guest's stderr (runtimes print it on the same stream, right after).
 *
 *   partial N   write "out\n" to stdout, N bytes of 'e' to stderr with no newline after
 *               them, then execute `unreachable`
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 3;
    fputs("out\n", stdout);
    fflush(stdout);
    for (long i = 0; i < n; i++) fputc('e', stderr);
    fflush(stderr);
    __builtin_trap();
}

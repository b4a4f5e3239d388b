/* What a sockets test's module does first: say where it listens, on stdout, for the runner
 * to `connect` to. A preview-1 module cannot open a socket, so this one only says it; its
 * spec needs the `sockets` proposal, and the case is reported `unsupported`. */
#include <stdio.h>

int main(void) {
    puts("127.0.0.1:3000");
    return 0;
}

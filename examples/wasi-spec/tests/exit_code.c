/* Exits with 3 after a line on stderr: the spec expects exactly that. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    fprintf(stderr, "leaving with 3\n");
    exit(3);
}

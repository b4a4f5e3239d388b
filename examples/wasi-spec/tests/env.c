/* Prints the variable the spec grants, and whether the host's HOME and PATH leaked in. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    printf("HOME %s\n", getenv("HOME") ? "leaked" : "unset");
    printf("PATH %s\n", getenv("PATH") ? "leaked" : "unset");
    return 0;
}

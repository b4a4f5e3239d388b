/* stdout and stderr are two streams, kept byte for byte: no newline translation, UTF-8 intact,
 * a last line without a newline kept. The spec compares both exactly. */
#include <stdio.h>

int main(void) {
    fputs("line 1\r\nline 2 \xc3\xbc\n", stdout);
    fputs("to stderr\n", stderr);
    fputs("no newline at the end", stdout);
    return 0;
}

/* A huge argv: the suite passes ARGV_COUNT arguments of ARGV_SIZE bytes each (all 'a'),
 * and this program checks it got exactly those. Exit 0 when it did, 1 when they arrived
 * altered (fewer, shorter, other bytes): a runtime may refuse such an argv (an error), but
 * must never hand the guest something else. Built with the `exitcode` harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *count_text = getenv("ARGV_COUNT"), *size_text = getenv("ARGV_SIZE");
    long want_count = count_text ? atol(count_text) : -1, want_size = size_text ? atol(size_text) : -1;
    long long total = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        total += (long long)n;
        if ((long)n != want_size || strspn(argv[i], "a") != n) bad++;
    }
    printf("argc %d, %lld bytes of arguments, %d not as sent\n", argc, total, bad);
    return argc - 1 == want_count && bad == 0 ? 0 : 1;
}

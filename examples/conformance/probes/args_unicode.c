/* Non-ASCII arguments arrive as the same UTF-8 bytes. */
#include "probe.h"

static const char *const expected[] = {"\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\xa6\x80",
                                       "na\xc3\xafve=\xc3\xbc"};

int main(int argc, char **argv) {
    int want = (int)(sizeof expected / sizeof *expected);
    SEE("argc: %d", argc);
    char label[32];
    for (int i = 1; i < argc; i++) {
        snprintf(label, sizeof label, "argv[%d]", i);
        see_string(label, argv[i]);
    }
    MUST(argc == want + 1, "argc %d, expected %d", argc, want + 1);
    for (int i = 0; i < want && i + 1 < argc; i++)
        MUST(strcmp(argv[i + 1], expected[i]) == 0, "argv[%d] differs from the UTF-8 bytes given", i + 1);
    return probe_end();
}

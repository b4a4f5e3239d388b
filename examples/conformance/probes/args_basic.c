/* Arguments arrive in order, whole, after argv[0] (whose value WASI leaves to the runtime). */
#include "probe.h"

static const char *const expected[] = {"alpha", "beta gamma", "a=b", "--flag", "-"};

int main(int argc, char **argv) {
    int want = (int)(sizeof expected / sizeof *expected);
    SEE("argc: %d", argc);
    see_string("argv[0]", argc > 0 ? argv[0] : "");
    char label[32];
    for (int i = 1; i < argc; i++) {
        snprintf(label, sizeof label, "argv[%d]", i);
        see_string(label, argv[i]);
    }
    MUST(argc == want + 1, "argc %d, expected %d", argc, want + 1);
    for (int i = 0; i < want && i + 1 < argc; i++)
        MUST(strcmp(argv[i + 1], expected[i]) == 0, "argv[%d] is \"%s\", expected \"%s\"", i + 1, argv[i + 1], expected[i]);
    return probe_end();
}

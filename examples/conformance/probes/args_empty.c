/* Empty arguments are arguments: none is dropped or merged with its neighbours. */
#include "probe.h"

int main(int argc, char **argv) {
    SEE("argc: %d", argc);
    char label[32];
    for (int i = 1; i < argc; i++) {
        snprintf(label, sizeof label, "argv[%d]", i);
        see_string(label, argv[i]);
    }
    MUST(argc == 5, "argc %d, expected 5 (\"\", \"x\", \"\", \"\")", argc);
    if (argc == 5) {
        MUST(argv[1][0] == '\0', "argv[1] is \"%s\"", argv[1]);
        MUST(strcmp(argv[2], "x") == 0, "argv[2] is \"%s\"", argv[2]);
        MUST(argv[3][0] == '\0' && argv[4][0] == '\0', "argv[3], argv[4] are \"%s\", \"%s\"", argv[3], argv[4]);
    }
    return probe_end();
}

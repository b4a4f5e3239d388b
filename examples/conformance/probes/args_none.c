/* No arguments: argc is 1 (argv[0] only); printed so a runtime that adds its own shows. */
#include "probe.h"

int main(int argc, char **argv) {
    SEE("argc: %d", argc);
    if (argc > 0) see_string("argv[0]", argv[0]);
    MUST(argc == 1, "argc %d, expected 1", argc);
    return probe_end();
}

/* Granted nothing, the module sees an empty environment: no PATH, HOME or PWD of the host's. */
#include "probe.h"

extern char **environ;

int main(void) {
    int count = 0;
    while (environ && environ[count]) count++;
    SEE("variables: %d", count);
    for (int i = 0; i < count; i++) see_string("entry", environ[i]);
    MUST(count == 0, "%d variables, none granted", count);
    MUST(getenv("PATH") == NULL && getenv("HOME") == NULL, "the host's PATH or HOME leaked in");
    return probe_end();
}

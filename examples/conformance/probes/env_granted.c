/* The environment is exactly the variables granted: nothing of the host's, none dropped,
 * empty values and values holding `=` or UTF-8 intact. */
#include "probe.h"

extern char **environ;

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *const granted[][2] = {
    {"WT_ONE", "1"}, {"WT_EMPTY", ""}, {"WT_EQUALS", "a=b=c"}, {"WT_UNICODE", "\xc3\xbcn\xc3\xaf"}};

int main(void) {
    int count = 0;
    while (environ && environ[count]) count++;
    char **sorted = malloc(sizeof *sorted * (size_t)(count + 1));
    memcpy(sorted, environ, sizeof *sorted * (size_t)count);
    qsort(sorted, (size_t)count, sizeof *sorted, by_text);
    SEE("variables: %d", count);
    for (int i = 0; i < count; i++) see_string("entry", sorted[i]);
    int want = (int)(sizeof granted / sizeof *granted);
    MUST(count == want, "%d variables, expected exactly the %d granted", count, want);
    for (int i = 0; i < want; i++) {
        const char *value = getenv(granted[i][0]);
        MUST(value != NULL && strcmp(value, granted[i][1]) == 0, "%s is %s%s%s", granted[i][0], value ? "\"" : "",
             value ? value : "unset", value ? "\"" : "");
    }
    return probe_end();
}

/* readdir lists what a folder holds, each entry once. The order is the runtime's (compared
 * sorted), and whether `.` and `..` are listed is printed: WASI does not say. */
#include "fs.h"

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    MUST(mkdir(DIR_ "list", 0755) == 0, "mkdir failed: %s", errno_name(errno));
    const char *names[] = {"zeta", "alpha", "mid.txt"};
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, DIR_ "list/%s", names[i]);
        MUST(write_file(path, names[i]) == 0, "cannot create %s", names[i]);
    }
    MUST(mkdir(DIR_ "list/subdir", 0755) == 0, "mkdir subdir failed");
    DIR *dir = opendir(DIR_ "list");
    MUST(dir != NULL, "opendir failed: %s", errno_name(errno));
    if (!dir) return probe_end();
    char *seen[64];
    int count = 0, dots = 0, dir_type = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) { dots++; continue; }
        if (!strcmp(entry->d_name, "subdir")) dir_type = entry->d_type;
        seen[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(seen, (size_t)count, sizeof *seen, by_name);
    SEE("dot entries listed: %d", dots);
    for (int i = 0; i < count; i++) see_string("entry", seen[i]);
    SEE("subdir d_type is DT_DIR: %s", dir_type == DT_DIR ? "yes" : "no");
    const char *want[] = {"alpha", "mid.txt", "subdir", "zeta"};
    MUST(count == 4, "%d entries besides . and .., expected 4", count);
    for (int i = 0; i < 4 && i < count; i++) MUST(strcmp(seen[i], want[i]) == 0, "entry %s, expected %s", seen[i], want[i]);
    return probe_end();
}

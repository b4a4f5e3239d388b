/* The spec's `root` folder is the whole file system the module sees, at `/`. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    FILE *in = fopen("/etc/motd", "r");
    if (!in) {
        perror("/etc/motd");
        return 1;
    }
    char line[128];
    while (fgets(line, sizeof line, in)) fputs(line, stdout);
    fclose(in);
    printf("/tmp %s\n", access("/tmp", F_OK) == 0 ? "exists" : "absent");
    return 0;
}

/* The `run` operation's `dirs`: data.dir is preopened under its own name (a copy of it). */
#include <stdio.h>

int main(void) {
    FILE *in = fopen("data.dir/notes.txt", "r");
    if (!in) {
        perror("data.dir/notes.txt");
        return 1;
    }
    char line[128];
    while (fgets(line, sizeof line, in)) fputs(line, stdout);
    fclose(in);
    return 0;
}

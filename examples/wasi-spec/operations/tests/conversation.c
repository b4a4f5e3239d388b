/* A prompt, then one line of stdin per question: the spec reads the prompt before it writes
 * the answer, as a person at a terminal would. The arguments and the environment come from
 * the `run` operation; the exit status is the number of answers, for `wait` to check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *greeting = getenv("GREETING");
    int answers = 0;
    char line[128];
    for (int i = 1; i < argc; i++) {
        printf("%s? ", argv[i]);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) break;
        line[strcspn(line, "\n")] = '\0';
        printf("%s, %s\n", greeting ? greeting : "hello", line);
        answers++;
    }
    fprintf(stderr, "%d answers\n", answers);
    return answers;
}

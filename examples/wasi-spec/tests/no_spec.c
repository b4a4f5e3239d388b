/* No no_spec.json: the default spec (no args, empty env, exit 0, output not checked). */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argv;
    printf("this output is not checked; argc=%d\n", argc);
    return argc == 1 ? 0 : 1;
}

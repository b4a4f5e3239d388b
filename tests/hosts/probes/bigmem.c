#include <stdio.h>
int main(void) {
    /* grow the linear memory in 256 MiB steps (4096 pages), up to 2 GiB more, until a
     * grow fails: a 32-bit host's engine cannot reserve what a 64-bit one can */
    unsigned long pages = __builtin_wasm_memory_size(0);
    for (int step = 0; step < 8; step++) {
        if (__builtin_wasm_memory_grow(0, 4096) == (unsigned long)-1) break;
        pages += 4096;
    }
    printf("grew to %lu MiB\n", pages / 16);
    return 0;
}

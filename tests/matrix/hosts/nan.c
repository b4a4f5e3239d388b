#include <stdio.h>
#include <string.h>
#include <stdint.h>
int main(int argc, char **argv) {
    volatile float zero = 0.0f;
    float q = zero / zero;  /* a NaN made by the CPU: its sign bit is not fixed by the Wasm spec */
    uint32_t bits; memcpy(&bits, &q, 4);
    printf("0/0 = 0x%08x\n", bits);
    return 0;
}

/* NaNs the CPU makes: WebAssembly fixes a NaN's bits only where an operand already was
 * one (and then only up to the sign and the quiet bit), so a NaN computed from numbers
 * (0/0, sqrt(-1)) has the sign bit the CPU's instruction gives it: x86 sets it, ARM and
 * s390x do not. Both are correct; tests/hosts expects each host's. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
static uint32_t b32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t b64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static float f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
int main(void) {
    volatile float zero = 0.0f, one = 1.0f, minus = -1.0f;
    volatile double dzero = 0.0;
    volatile float payload = f32(0x7fc12345u), snan = f32(0x7f812345u);
    printf("f32 0/0      = 0x%08x\n", b32(zero / zero));
    printf("f64 0/0      = 0x%016llx\n", (unsigned long long)b64(dzero / dzero));
    printf("f32 sqrt(-1) = 0x%08x\n", b32(sqrtf(minus)));
    printf("f32 qnan+1   = 0x%08x\n", b32(payload + one));
    printf("f32 snan+1   = 0x%08x\n", b32(snan + one));
    printf("f64(qnan)    = 0x%016llx\n", (unsigned long long)b64((double)payload));
    printf("f32 -(qnan)  = 0x%08x\n", b32(-payload));
    return 0;
}

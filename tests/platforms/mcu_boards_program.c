/* Test program for the microcontroller board layer (test_mcu_boards.py).
 *
 * Reads in.bin through semihosting: a header of five uint32 (n, repeat, exit_code, deep, mode), then n
 * int16 values a[] and n float32 values x[]. Between two er_mcu_mark() calls it computes, `repeat`
 * times: an FNV-1a checksum over the payload bytes (continued across repetitions), the integer sum of
 * a[i] * a[n-1-i], and the float sum of x[i] * a[i] (accumulated in order). It writes the results to
 * out.bin (uint32 checksum, int32 isum, float32 fdot, int32 wsum), prints them, and returns exit_code.
 * deep != 0 calls a function with a 16 KiB local array (for the stack high-water mark); mode 1 reads
 * an unmapped address (a CPU fault), mode 2 never ends (a timeout). Built for a core with Helium (MVE),
 * it also checks MVE code against scalar code and prints "mve=ok". */
#include <stdint.h>
#include <stdio.h>

#include "er_mcu.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

#define MAX_N 1024
#define DEEP_BYTES 16384

/* Stands in for a generated model's weights, in the section the code generator uses. */
const int8_t test_weights[1000] __attribute__((section(".rodata.er_weights.test"))) = {1, 2, 3, -4, 5};

static struct {
    uint32_t n, repeat, exit_code, deep, mode;
} header;
static int16_t a[MAX_N];
static float x[MAX_N];

__attribute__((noinline)) static uint32_t use_deep_stack(uint32_t seed)
{
    volatile uint8_t buffer[DEEP_BYTES];
    for (uint32_t i = 0; i < DEEP_BYTES; ++i) {
        buffer[i] = (uint8_t)(seed + i);
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < DEEP_BYTES; i += 64) {
        sum += buffer[i];
    }
    return sum;
}

static uint32_t fnv1a(uint32_t h, const uint8_t *bytes, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        h ^= bytes[i];
        h *= 16777619u;
    }
    return h;
}

#if defined(__ARM_FEATURE_MVE)
/* Sum of v[i]^2 with MVE vector multiply-accumulate (n a multiple of 8) equals the scalar sum: MVE
 * instructions only run once the startup code has enabled them. */
static int mve_agrees(const int16_t *v, uint32_t n)
{
    int32_t vector = 0, scalar = 0;
    for (uint32_t i = 0; i + 8 <= n; i += 8) {
        int16x8_t lanes = vldrhq_s16(&v[i]);
        vector = vmladavaq_s16(vector, lanes, lanes);
    }
    for (uint32_t i = 0; i < n / 8 * 8; ++i) {
        scalar += (int32_t)v[i] * v[i];
    }
    return vector == scalar;
}
#endif

int main(void)
{
    FILE *in = fopen("in.bin", "rb");
    if (in == NULL) {
        printf("cannot open in.bin\n");
        return 2;
    }
    if (fread(&header, sizeof header, 1, in) != 1 || header.n > MAX_N ||
        fread(a, sizeof a[0], header.n, in) != header.n || fread(x, sizeof x[0], header.n, in) != header.n) {
        printf("bad in.bin\n");
        return 2;
    }
    fclose(in);
    const uint32_t n = header.n;
#if defined(__ARM_FEATURE_MVE)
    if (!mve_agrees(a, n)) {
        printf("MVE and scalar results differ\n");
        return 5;
    }
    printf("mve=ok\n");
#endif

    if (header.mode == 1) {
        return (int)*(volatile uint32_t *)0xFFFFFFF0u;
    }
    while (header.mode == 2) {
        __asm__ volatile("" ::: "memory");
    }

    er_mcu_mark();
    uint32_t checksum = 2166136261u;
    int32_t isum = 0;
    float fdot = 0.0f;
    for (uint32_t r = 0; r < header.repeat; ++r) {
        checksum = fnv1a(checksum, (const uint8_t *)a, n * sizeof a[0]);
        checksum = fnv1a(checksum, (const uint8_t *)x, n * sizeof x[0]);
        for (uint32_t i = 0; i < n; ++i) {
            isum += (int32_t)a[i] * a[n - 1 - i];
        }
        for (uint32_t i = 0; i < n; ++i) {
            fdot += x[i] * (float)a[i];
        }
        __asm__ volatile("" ::: "memory"); /* each repetition really runs */
    }
    er_mcu_mark();

    int32_t wsum = 0;
    for (size_t i = 0; i < sizeof test_weights; ++i) {
        wsum += ((const volatile int8_t *)test_weights)[i];
    }
    if (header.deep) {
        wsum += (int32_t)(use_deep_stack(header.deep) & 0);
    }

    FILE *out = fopen("out.bin", "wb");
    if (out == NULL) {
        printf("cannot write out.bin\n");
        return 2;
    }
    fwrite(&checksum, sizeof checksum, 1, out);
    fwrite(&isum, sizeof isum, 1, out);
    fwrite(&fdot, sizeof fdot, 1, out);
    fwrite(&wsum, sizeof wsum, 1, out);
    fclose(out);
    printf("checksum=%08lx isum=%ld fdot=%.3f\n", (unsigned long)checksum, (long)isum, (double)fdot);
    return (int)header.exit_code;
}

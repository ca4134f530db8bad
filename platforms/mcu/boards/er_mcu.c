/* The CPU-independent part of the board runtime: stack painting and its high-water mark, the
 * instruction-count mark, the exit report, and running main().
 *
 * Report protocol (read by edgerun.platforms.mcu.run): at exit the runtime writes one line to the
 * host's stderr through semihosting, after the C library has flushed nothing yet of its own:
 *     edgerun-mcu: stack_bytes=<used> stack_size=<reserved>[ overflow]
 * and a fault handler writes `edgerun-mcu: fault ...` before exiting with ER_MCU_EXIT_FAULT. */
#include <stdint.h>
#include <stdlib.h>

#include "er_mcu.h"
#include "er_mcu_internal.h"
#include "er_semihost.h"

/* Bounds of the stack, from the linker script (sections.ld). */
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];

/* Every word of the unused stack holds this before main() starts. */
#define ER_STACK_PATTERN 0x57AC57ACu

/* Painting stops this far below the painting function's own frame, which must stay intact. */
#define ER_PAINT_MARGIN 64u

int main(void);

__attribute__((noinline)) void er_mcu_paint_stack(void)
{
    volatile uint32_t here = 0;
    uintptr_t end = ((uintptr_t)&here - ER_PAINT_MARGIN) & ~(uintptr_t)3;
    for (volatile uint32_t *p = __stack_limit; (uintptr_t)p < end; ++p) {
        *p = ER_STACK_PATTERN;
    }
}

size_t er_mcu_stack_used(void)
{
    const volatile uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == ER_STACK_PATTERN) {
        ++p;
    }
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

size_t er_mcu_stack_size(void)
{
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

__attribute__((noinline)) void er_mcu_mark(void)
{
    /* Empty on purpose: the emulator plugin counts instructions up to this function's address. The
     * asm keeps the compiler from merging or dropping calls. */
    __asm__ volatile("" ::: "memory");
}

/* --- Writing to the host without the C library ------------------------------------------------- */

static intptr_t er_stderr_handle = -1;

static size_t er_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        ++n;
    }
    return n;
}

void er_mcu_write_host(const char *text)
{
    if (er_stderr_handle < 0) {
        /* ":tt" opened for append is the host's stderr. */
        static const char tt[] = ":tt";
        intptr_t open_args[3] = {(intptr_t)tt, ER_SH_OPEN_APPEND, sizeof tt - 1};
        er_stderr_handle = er_sh_call(ER_SH_SYS_OPEN, open_args);
    }
    intptr_t write_args[3] = {er_stderr_handle, (intptr_t)text, (intptr_t)er_strlen(text)};
    er_sh_call(ER_SH_SYS_WRITE, write_args);
}

/* Appends the decimal (base 10) or hexadecimal (base 16) digits of `value` at `out`; returns the end. */
char *er_mcu_format_uint(char *out, uint32_t value, unsigned base)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    while (n > 0) {
        *out++ = digits[--n];
    }
    return out;
}

static char *er_append(char *out, const char *text)
{
    while (*text != '\0') {
        *out++ = *text++;
    }
    return out;
}

static void er_mcu_report(void)
{
    char line[96];
    char *p = er_append(line, "edgerun-mcu: stack_bytes=");
    p = er_mcu_format_uint(p, (uint32_t)er_mcu_stack_used(), 10);
    p = er_append(p, " stack_size=");
    p = er_mcu_format_uint(p, (uint32_t)er_mcu_stack_size(), 10);
    if (*(const volatile uint32_t *)__stack_limit != ER_STACK_PATTERN) {
        p = er_append(p, " overflow");
    }
    p = er_append(p, "\n");
    *p = '\0';
    er_mcu_write_host(line);
}

void er_mcu_exit(int status)
{
    /* SYS_EXIT_EXTENDED carries the status on 32-bit targets (plain SYS_EXIT only says ok/failed). */
    intptr_t block[2] = {ER_SH_ADP_STOPPED_APPLICATION_EXIT, status};
    er_sh_call(ER_SH_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

void er_mcu_run_main(void)
{
    er_mcu_paint_stack();
    atexit(er_mcu_report); /* registered first, so it runs after the program's own handlers */
    exit(main());
}

#if defined(__riscv)
/* The semihosting trap sequence (see er_semihost.h): a0 = operation, a1 = argument, a0 = result.
 * 16-byte alignment keeps the three instructions in one page, as the specification requires. */
__attribute__((naked, noinline, aligned(16))) intptr_t er_sh_trap(intptr_t op, const void *arg)
{
    (void)op;
    (void)arg;
    __asm__ volatile(".option push\n\t"
                     ".option norvc\n\t"
                     "slli zero, zero, 0x1f\n\t"
                     "ebreak\n\t"
                     "srai zero, zero, 0x7\n\t"
                     ".option pop\n\t"
                     "ret\n");
}
#endif

/* Shared between the board runtime files (er_mcu.c and the startup files); not for programs. */
#ifndef ER_MCU_INTERNAL_H
#define ER_MCU_INTERNAL_H

#include <stdint.h>

/* Exit status of a program stopped by a CPU fault or trap (as a shell reports SIGABRT). */
#define ER_MCU_EXIT_FAULT 134

/* Paints the free part of the stack with the high-water pattern; runs once before main(). */
void er_mcu_paint_stack(void);

/* Paints the stack, registers the exit report, runs main() and exits with its status. */
void er_mcu_run_main(void) __attribute__((noreturn));

/* Writes `text` to the host's stderr through semihosting, without the C library. */
void er_mcu_write_host(const char *text);

/* Writes the digits of `value` in `base` (10 or 16) at `out`, without a terminator; returns the end. */
char *er_mcu_format_uint(char *out, uint32_t value, unsigned base);

/* Stops the emulator with `status` as its exit code. */
void er_mcu_exit(int status) __attribute__((noreturn));

#endif /* ER_MCU_INTERNAL_H */

/* Raw semihosting calls (Arm "Semihosting for AArch32 and AArch64", which RISC-V reuses).
 *
 * The C library (newlib's rdimon on Arm, picolibc's libsemihost on RISC-V) already gives programs
 * fopen/fread/fwrite/printf through semihosting. The board runtime needs a few calls of its own that
 * must work without the C library's buffers: writing the exit report, and exiting with a status code
 * (SYS_EXIT_EXTENDED, which carries the code on 32-bit targets where plain SYS_EXIT cannot). */
#ifndef ER_SEMIHOST_H
#define ER_SEMIHOST_H

#include <stdint.h>

/* Operation numbers from the semihosting specification. */
#define ER_SH_SYS_OPEN 0x01
#define ER_SH_SYS_WRITE 0x05
#define ER_SH_SYS_EXIT 0x18
#define ER_SH_SYS_EXIT_EXTENDED 0x20

/* SYS_EXIT reason for a normal application exit; the second word of the block is the status. */
#define ER_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026

/* SYS_OPEN modes ("r" = 0, "w" = 4, "a" = 8). On the special path ":tt", "w" is the host's stdout and
 * "a" its stderr (the STDOUT_STDERR extension, implemented by qemu). */
#define ER_SH_OPEN_WRITE 4
#define ER_SH_OPEN_APPEND 8

/* One semihosting call: operation `op`, parameter block (or value) `arg`; returns the host's answer. */
static inline intptr_t er_sh_call(intptr_t op, const void *arg);

#if defined(__arm__)
static inline intptr_t er_sh_call(intptr_t op, const void *arg)
{
    /* M-profile cores trap semihosting with BKPT 0xAB: r0 = operation, r1 = argument, r0 = result. */
    register intptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
#elif defined(__riscv)
/* RISC-V marks a semihosting EBREAK by two no-op shifts around it. The three 32-bit instructions
 * must not be compressed and must sit in one page, hence a separate, aligned function (er_mcu.c). */
intptr_t er_sh_trap(intptr_t op, const void *arg);
static inline intptr_t er_sh_call(intptr_t op, const void *arg)
{
    return er_sh_trap(op, arg);
}
#else
#error "er_semihost.h: unknown architecture (expected Arm M-profile or RISC-V)"
#endif

#endif /* ER_SEMIHOST_H */

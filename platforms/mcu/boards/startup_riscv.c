/* Startup for 32-bit RISC-V in machine mode under picolibc (qemu `virt` with -bios none).
 *
 * qemu starts the hart at 0x80000000, where the linker script puts _start: it sets the global and
 * stack pointers and calls the C reset handler, which copies .data and .tdata from their load image,
 * zeroes .tbss/.bss, points the thread pointer at the single thread's TLS block (picolibc keeps errno
 * there), installs the trap handler and runs main() (er_mcu.c). A trap is reported with its cause and
 * address and the program exits with ER_MCU_EXIT_FAULT. */
#include <stdint.h>

#include "er_mcu_internal.h"

/* From the linker script (sections.ld). */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __extram_start[], __extram_end[];
extern char __tls_base[];

extern void __libc_init_array(void);

/* CSR instructions are the Zicsr extension, which -march=rv32imc does not name (every core that
 * runs in machine mode has it); enable it for just these instructions. */
#define ER_ZICSR(insn) ".option push\n\t.option arch, +zicsr\n\t" insn "\n\t.option pop"

void er_reset_handler(void) __attribute__((noreturn));

__attribute__((naked, noreturn, section(".text.start"))) void _start(void)
{
    __asm__ volatile(".option push\n\t"
                     ".option norelax\n\t" /* gp must not be computed relative to itself */
                     "la gp, __global_pointer$\n\t"
                     ".option pop\n\t"
                     "la sp, __stack_top\n\t"
                     "j er_reset_handler\n");
}

/* Machine-mode trap handling: every trap is fatal here (no interrupt is enabled, and semihosting
 * EBREAKs are taken by the emulator before they trap). The entry moves to a fresh stack, as the trap
 * may be a stack overflow; mtvec needs it 4-byte aligned. */
__attribute__((noreturn, used)) static void er_trap_report(void)
{
    uint32_t cause, epc, tval;
    __asm__ volatile(ER_ZICSR("csrr %0, mcause") : "=r"(cause));
    __asm__ volatile(ER_ZICSR("csrr %0, mepc") : "=r"(epc));
    __asm__ volatile(ER_ZICSR("csrr %0, mtval") : "=r"(tval));
    char line[96];
    char *p = line;
    for (const char *s = "edgerun-mcu: fault: trap mcause="; *s;) {
        *p++ = *s++;
    }
    p = er_mcu_format_uint(p, cause, 10);
    for (const char *s = " at pc=0x"; *s;) {
        *p++ = *s++;
    }
    p = er_mcu_format_uint(p, epc, 16);
    for (const char *s = " mtval=0x"; *s;) {
        *p++ = *s++;
    }
    p = er_mcu_format_uint(p, tval, 16);
    *p++ = '\n';
    *p = '\0';
    er_mcu_write_host(line);
    er_mcu_exit(ER_MCU_EXIT_FAULT);
}

__attribute__((naked, noreturn, aligned(4))) static void er_trap_entry(void)
{
    __asm__ volatile("la sp, __stack_top\n\t"
                     "j er_trap_report\n");
}

void er_reset_handler(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    for (uint32_t *dst = __extram_start; dst < __extram_end;) {
        *dst++ = 0;
    }
    __asm__ volatile("mv tp, %0" ::"r"(__tls_base));
    __asm__ volatile(ER_ZICSR("csrw mtvec, %0") ::"r"(er_trap_entry));
    __libc_init_array();
    er_mcu_run_main();
}

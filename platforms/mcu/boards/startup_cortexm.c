/* Startup for Arm Cortex-M (Armv6-M, Armv7-M, Armv8-M, Armv8.1-M) under newlib with rdimon.
 *
 * The vector table gives the initial stack pointer and the reset handler. The reset handler enables
 * the FPU (and with it MVE on Armv8.1-M) when the program is built for one, copies .data from its load
 * image, zeroes .bss, sets the hardware stack limit on Armv8-M Mainline, opens the semihosting stdio
 * handles and runs main() (er_mcu.c). Every other exception is a fault here: it is reported with the
 * faulting address and the program exits with ER_MCU_EXIT_FAULT. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "er_mcu_internal.h"

/* From the linker script (sections.ld). */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __extram_start[], __extram_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern char __heap_start[], __heap_end[];

/* newlib: rdimon's stdio handles, and constructors. */
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void er_reset_handler(void);
void er_fault_handler(void);

/* System Control Block registers (Armv6-M/v7-M/v8-M architecture reference manuals). */
#define ER_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u) /* Coprocessor Access Control */
#define ER_CPACR_CP10_CP11_FULL (0xFu << 20)                /* full access to CP10/CP11: FPU, MVE */
#define ER_SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)  /* Configurable Fault Status (Armv7-M on) */

/* The 16 system exception entries; no external interrupt is used. */
__attribute__((section(".vectors"), used)) static void (*const er_vectors[16])(void) = {
    (void (*)(void))__stack_top, /* 0: initial main stack pointer */
    er_reset_handler,            /* 1: Reset */
    er_fault_handler,            /* 2: NMI */
    er_fault_handler,            /* 3: HardFault */
    er_fault_handler,            /* 4: MemManage */
    er_fault_handler,            /* 5: BusFault */
    er_fault_handler,            /* 6: UsageFault */
    er_fault_handler,            /* 7: SecureFault (Armv8-M), reserved before */
    0,                           /* 8-10: reserved */
    0,
    0,
    er_fault_handler, /* 11: SVCall */
    er_fault_handler, /* 12: DebugMonitor */
    0,                /* 13: reserved */
    er_fault_handler, /* 14: PendSV */
    er_fault_handler, /* 15: SysTick */
};

static void er_enable_fpu(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* Until CP10/CP11 are enabled, any floating-point or MVE instruction raises a UsageFault. */
    ER_SCB_CPACR |= ER_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
}

static void er_set_stack_limit(void)
{
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Armv8-M Mainline checks the main stack pointer against MSPLIM: an overflow faults at once
     * instead of silently running into .bss. */
    __asm__ volatile("msr msplim, %0" ::"r"(__stack_limit));
#endif
}

__attribute__((noreturn)) void er_reset_handler(void)
{
    er_enable_fpu();
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    for (uint32_t *dst = __extram_start; dst < __extram_end;) {
        *dst++ = 0;
    }
    er_set_stack_limit();
    initialise_monitor_handles();
    __libc_init_array();
    er_mcu_run_main();
}

/* __libc_init_array calls _init, which crti.o would provide; we link without the start files. */
void _init(void) {}
void _fini(void) {}

/* The heap for malloc: from the end of .bss up to the bottom of the stack (rdimon's own _sbrk checks
 * against the current stack pointer only, and so would hand out the painted stack). */
void *_sbrk(ptrdiff_t increment)
{
    static char *brk = __heap_start;
    if (increment > __heap_end - brk || increment < __heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *previous = brk;
    brk += increment;
    return previous;
}

/* --- Faults -------------------------------------------------------------------------------------- */

/* Called by er_fault_handler with the exception frame the core pushed and the exception number. */
__attribute__((noreturn, used)) static void er_fault_report(const uint32_t *frame, uint32_t ipsr)
{
    static const char *const names[16] = {
        "thread",      "reset", "NMI", "HardFault", "MemManage",    "BusFault", "UsageFault", "SecureFault",
        "exception 8", "exception 9", "exception 10", "SVCall", "DebugMonitor", "exception 13", "PendSV",
        "SysTick",
    };
    char line[96];
    char *p = line;
    for (const char *s = "edgerun-mcu: fault: "; *s;) {
        *p++ = *s++;
    }
    for (const char *s = names[ipsr & 15u]; *s;) {
        *p++ = *s++;
    }
    for (const char *s = " at pc=0x"; *s;) {
        *p++ = *s++;
    }
    /* The stacked frame is r0-r3, r12, lr, pc, xpsr. It is only meaningful if the stack was valid. */
    int frame_ok = (uintptr_t)frame >= (uintptr_t)__stack_limit &&
                   (uintptr_t)(frame + 8) <= (uintptr_t)__stack_top;
    p = er_mcu_format_uint(p, frame_ok ? frame[6] : 0u, 16);
#if __ARM_ARCH_PROFILE == 'M' && __ARM_ARCH_ISA_THUMB == 2 /* not Armv6-M/v8-M Baseline: no CFSR there */
    for (const char *s = " cfsr=0x"; *s;) {
        *p++ = *s++;
    }
    p = er_mcu_format_uint(p, ER_SCB_CFSR, 16);
#endif
    *p++ = '\n';
    *p = '\0';
    er_mcu_write_host(line);
    er_mcu_exit(ER_MCU_EXIT_FAULT);
}

/* A small stack of its own for reporting, so the report neither needs a valid main stack (the fault may
 * be a stack overflow) nor overwrites the exception frame it reads. */
#define ER_FAULT_STACK_BYTES 512
#define ER_STRINGIFY(x) #x
#define ER_STR(x) ER_STRINGIFY(x)
static uint32_t er_fault_stack[ER_FAULT_STACK_BYTES / 4] __attribute__((aligned(8), used));

#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
#define ER_CLEAR_MSPLIM "movs r2, #0\n\tmsr msplim, r2\n\t" /* the fault stack lies below the limit */
#else
#define ER_CLEAR_MSPLIM ""
#endif

__attribute__((naked, noreturn)) void er_fault_handler(void)
{
    __asm__ volatile("mrs r0, msp\n\t"
                     "mrs r1, ipsr\n\t" ER_CLEAR_MSPLIM
                     "ldr r2, =er_fault_stack + " ER_STR(ER_FAULT_STACK_BYTES) "\n\t"
                     "mov sp, r2\n\t"
                     "bl er_fault_report\n\t"
                     ".ltorg\n");
}

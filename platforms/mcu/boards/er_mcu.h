/* What a program built by edgerun.platforms.mcu can call from the board runtime.
 *
 * A generated model's main() does its file I/O through the C library (fopen/fread/fwrite are
 * semihosted), calls er_mcu_mark() right before and right after NAME_invoke(), and returns its status.
 * The emulator records its instruction count each time er_mcu_mark() runs, so the harness can tell the
 * instructions of one invoke() apart from the (expensive) semihosted I/O around it. */
#ifndef ER_MCU_H
#define ER_MCU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A no-op whose address the instruction-counting plugin watches: every call records the number of
 * instructions executed so far (RunResult.marks on the Python side). */
void er_mcu_mark(void);

/* Bytes of the stack used so far: the depth below the stack top of the lowest word that no longer
 * holds the pattern the startup code painted. The runtime reports the final value at exit. */
size_t er_mcu_stack_used(void);

/* Size of the stack reserved by the linker script (`stack_size` of build()). */
size_t er_mcu_stack_size(void);

#ifdef __cplusplus
}
#endif

#endif /* ER_MCU_H */

/* Params of the control-flow kernels (kernels/ref/control.c): WHILE, IF and CALL_ONCE run other subplans
 * of the same prepared plan. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_CONTROL_H
#define EDGERUN_OPS_CONTROL_H
#include "edgerun/core.h"

/* WHILE: the op's inputs are the initial loop values, its outputs the final ones. The body's inputs hold the
 * current values; each round copies them into cond's inputs, runs cond (one BOOL output), and if true runs
 * body and copies its outputs back into its inputs. */
typedef struct er_while_params {
  const er_plan *cond;
  const er_plan *body;
  int64_t max_iterations;  /* > 0: more rounds than this fail with ER_ERR_LIMIT (hostile models); 0: no limit */
} er_while_params;

/* IF: input 0 is the condition (BOOL or an integer, true when non-zero); inputs 1.. are copied into the chosen
 * branch's inputs, its outputs into the op's outputs. */
typedef struct er_if_params {
  const er_plan *then_branch;
  const er_plan *else_branch;
} er_if_params;

/* CALL_ONCE: runs `init` on the first invoke after the variables were reset; *done is a persistent int32 flag
 * (a plan variable, so reset_all_variables() clears it). */
typedef struct er_call_once_params {
  const er_plan *init;
  int32_t *done;
} er_call_once_params;

#endif

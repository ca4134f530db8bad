/* The executor: walks a prepared plan and calls one kernel per op record. No allocation, no I/O. */
#include "edgerun/edgerun.h"

#define ER_KERNEL(name) int er_##name(const er_op *op);
#include "kernels.inc"
#undef ER_KERNEL

static const er_kernel_fn kernel_table[] = {
#define ER_KERNEL(name) er_##name,
#include "kernels.inc"
#undef ER_KERNEL
};

static const char *const kernel_names[] = {
#define ER_KERNEL(name) #name,
#include "kernels.inc"
#undef ER_KERNEL
};

_Static_assert(sizeof(kernel_table) / sizeof(kernel_table[0]) ==
                   sizeof(kernel_names) / sizeof(kernel_names[0]),
               "kernel table and name table differ");

#define N_KERNELS ((int32_t)(sizeof(kernel_table) / sizeof(kernel_table[0])))

int32_t er_kernel_count(void) { return N_KERNELS; }

const char *er_kernel_name(int32_t id) {
  if (id < 0 || id >= N_KERNELS) return NULL;
  return kernel_names[id];
}

int er_exec_op(const er_op *op) {
  if (op->kernel < 0 || op->kernel >= N_KERNELS) return ER_ERR_KERNEL_ID;
  return kernel_table[op->kernel](op);
}

int er_exec(const er_plan *plan, int32_t first, int32_t last, int32_t *failed) {
  if (first < 0) first = 0;
  if (last > plan->n_ops) last = plan->n_ops;
  for (int32_t i = first; i < last; ++i) {
    int status = er_exec_op(&plan->ops[i]);
    if (status != ER_OK) {
      if (failed) *failed = i;
      return status;
    }
  }
  return ER_OK;
}

/* any_copy: byte copy of input 0 to output 0 (RESHAPE, SQUEEZE, EXPAND_DIMS, graph glue). */
#include <string.h>

#include "edgerun/edgerun.h"

int er_any_copy(const er_op *op) {
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->bytes != y->bytes) return ER_ERR_SHAPE;
  if (x->data != y->data && y->bytes > 0) memmove(y->data, x->data, (size_t)y->bytes);
  return ER_OK;
}

/* Reads the first element of an integer tensor (INT32 or INT64) into *v. */
static int scalar_index(const er_tensor *t, int64_t *v) {
  if (t == NULL || t->count < 1 || t->data == NULL) return ER_ERR_SHAPE;
  if (t->type == ER_INT32) *v = *(const int32_t *)t->data;
  else if (t->type == ER_INT64) *v = *(const int64_t *)t->data;
  else return ER_ERR_UNSUPPORTED;
  return ER_OK;
}

/* any_set_item: out = list[:i] ++ item ++ list[j:] along the first dimension (rows), with i = input 2
 * (-1: all n rows) and j = input 3; the rows must add up to n. TF's lowering of TensorListSetItem in
 * recurrent loops (SLICE/SLICE/CONCATENATION, fused at prepare by runtime/rewrite.py). */
int er_any_set_item(const er_op *op) {
  const er_tensor *x = op->in[0], *item = op->in[1];
  er_tensor *y = op->out[0];
  if (op->n_in < 4 || x->ndim < 1 || x->bytes != y->bytes) return ER_ERR_SHAPE;
  int64_t n = x->dims[0], m = item->ndim > 0 ? item->dims[0] : 1, i, j;
  int st;
  if ((st = scalar_index(op->in[2], &i)) != ER_OK) return st;
  if ((st = scalar_index(op->in[3], &j)) != ER_OK) return st;
  if (i == -1) i = n;
  if (n <= 0) return ER_OK;
  int64_t row = x->bytes / n;
  if (i < 0 || i > n || j < 0 || j > n || i + m + (n - j) != n || item->bytes != m * row) return ER_ERR_INDEX;
  char *out = (char *)y->data;
  const char *src = (const char *)x->data;
  if (i > 0 && out != src) memmove(out, src, (size_t)(i * row));
  if (n - j > 0) memmove(out + (i + m) * row, src + j * row, (size_t)((n - j) * row));
  if (m > 0) memmove(out + i * row, item->data, (size_t)(m * row));
  return ER_OK;
}

/* any_assign_variable: ASSIGN_VARIABLE, input 1's bytes into the variable that input 0 (the handle) is. */
int er_any_assign_variable(const er_op *op) {
  er_tensor *var = op->in[0];
  const er_tensor *x = op->in[1];
  if (op->n_in < 2 || var == NULL || x == NULL) return ER_ERR_PARAMS;
  if (var->bytes != x->bytes) return ER_ERR_SHAPE;
  if (var->data != x->data && x->bytes > 0) memmove(var->data, x->data, (size_t)x->bytes);
  return ER_OK;
}

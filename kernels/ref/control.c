/* Control flow as executor records: WHILE, IF and CALL_ONCE run other subplans of the same prepared plan,
 * so a model with loops runs in one C call. Values move between the op's tensors and the subplans' inputs
 * and outputs by copies whose sizes prepare made equal (checked again here). */
#include <stdbool.h>
#include <string.h>

#include "edgerun/edgerun.h"

static int copy_tensor(er_tensor *dst, const er_tensor *src) {
  if (dst == NULL || src == NULL) return ER_ERR_PARAMS;
  if (dst->bytes != src->bytes) return ER_ERR_SHAPE;
  if (dst->data != src->data && dst->bytes > 0) memmove(dst->data, src->data, (size_t)dst->bytes);
  return ER_OK;
}

static int run_plan(const er_plan *p) { return er_exec(p, 0, p->n_ops, NULL); }

/* A condition tensor's first element as a truth value (BOOL, or a non-zero number). */
static int truth(const er_tensor *t, bool *out) {
  if (t == NULL || t->count < 1 || t->data == NULL) return ER_ERR_SHAPE;
  switch (t->type) {
    case ER_BOOL: *out = *(const uint8_t *)t->data != 0; return ER_OK; /* any byte, read as a byte */
    case ER_INT8: case ER_UINT8: *out = *(const uint8_t *)t->data != 0; return ER_OK;
    case ER_INT16: *out = *(const int16_t *)t->data != 0; return ER_OK;
    case ER_INT32: *out = *(const int32_t *)t->data != 0; return ER_OK;
    case ER_INT64: *out = *(const int64_t *)t->data != 0; return ER_OK;
    case ER_FLOAT32: *out = *(const float *)t->data != 0.0f; return ER_OK;
    default: return ER_ERR_UNSUPPORTED;
  }
}

int er_ctl_while(const er_op *op) {
  const er_while_params *p = (const er_while_params *)op->params;
  if (p == NULL || p->cond == NULL || p->body == NULL) return ER_ERR_PARAMS;
  const er_plan *cond = p->cond, *body = p->body;
  int32_t n = op->n_in;
  if (op->n_out != n || body->n_inputs != n || body->n_outputs != n || cond->n_inputs != n ||
      cond->n_outputs != 1)
    return ER_ERR_PARAMS;
  int st;
  for (int32_t i = 0; i < n; ++i)
    if ((st = copy_tensor(body->inputs[i], op->in[i])) != ER_OK) return st;
  for (int64_t round = 0;; ++round) {
    for (int32_t i = 0; i < n; ++i)
      if ((st = copy_tensor(cond->inputs[i], body->inputs[i])) != ER_OK) return st;
    if ((st = run_plan(cond)) != ER_OK) return st;
    bool go;
    if ((st = truth(cond->outputs[0], &go)) != ER_OK) return st;
    if (!go) break;
    if (p->max_iterations > 0 && round >= p->max_iterations) return ER_ERR_LIMIT;
    if ((st = run_plan(body)) != ER_OK) return st;
    for (int32_t i = 0; i < n; ++i)
      if ((st = copy_tensor(body->inputs[i], body->outputs[i])) != ER_OK) return st;
  }
  for (int32_t i = 0; i < n; ++i)
    if (op->out[i] != NULL && (st = copy_tensor(op->out[i], body->inputs[i])) != ER_OK) return st;
  return ER_OK;
}

int er_ctl_if(const er_op *op) {
  const er_if_params *p = (const er_if_params *)op->params;
  if (p == NULL || p->then_branch == NULL || p->else_branch == NULL || op->n_in < 1) return ER_ERR_PARAMS;
  bool flag;
  int st = truth(op->in[0], &flag);
  if (st != ER_OK) return st;
  const er_plan *br = flag ? p->then_branch : p->else_branch;
  if (br->n_inputs != op->n_in - 1 || br->n_outputs != op->n_out) return ER_ERR_PARAMS;
  for (int32_t i = 0; i < br->n_inputs; ++i)
    if ((st = copy_tensor(br->inputs[i], op->in[i + 1])) != ER_OK) return st;
  if ((st = run_plan(br)) != ER_OK) return st;
  for (int32_t i = 0; i < op->n_out; ++i)
    if (op->out[i] != NULL && (st = copy_tensor(op->out[i], br->outputs[i])) != ER_OK) return st;
  return ER_OK;
}

int er_ctl_call_once(const er_op *op) {
  const er_call_once_params *p = (const er_call_once_params *)op->params;
  if (p == NULL || p->init == NULL || p->done == NULL) return ER_ERR_PARAMS;
  if (*p->done) return ER_OK;
  int st = run_plan(p->init);
  if (st == ER_OK) *p->done = 1;
  return st;
}

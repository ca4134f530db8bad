/* A subgraph's Tensor tables in one pass (declarations and contract: edgerun/ops_flatbuf.h). Mirrors the
 * reads of runtime/flatbuf.py Table and runtime/model.py _tensor, at least as strict: any read that would
 * leave the file marks the tensor not ok and the Python reader takes the whole subgraph. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/ops_flatbuf.h"

typedef struct {
  const uint8_t *buf;
  int64_t size;
  int ok;
} er_fb;

static uint32_t fb_u32(er_fb *f, int64_t pos) {
  uint32_t v = 0;
  if (pos < 0 || pos > f->size - 4) {
    f->ok = 0;
    return 0;
  }
  memcpy(&v, f->buf + pos, 4);
  return v;
}

static uint64_t fb_u64(er_fb *f, int64_t pos) {
  uint64_t v = 0;
  if (pos < 0 || pos > f->size - 8) {
    f->ok = 0;
    return 0;
  }
  memcpy(&v, f->buf + pos, 8);
  return v;
}

static uint16_t fb_u16(er_fb *f, int64_t pos) {
  uint16_t v = 0;
  if (pos < 0 || pos > f->size - 2) {
    f->ok = 0;
    return 0;
  }
  memcpy(&v, f->buf + pos, 2);
  return v;
}

static uint8_t fb_u8(er_fb *f, int64_t pos) {
  if (pos < 0 || pos > f->size - 1) {
    f->ok = 0;
    return 0;
  }
  return f->buf[pos];
}

/* Absolute positions of fields 0..n-1 of the table at pos (0: absent), as flatbuf.Table.positions. */
static void fb_table(er_fb *f, int64_t pos, int n, int64_t *fields) {
  memset(fields, 0, sizeof(int64_t) * (size_t)n);
  if (pos < 0 || pos > f->size - 4) {
    f->ok = 0;
    return;
  }
  int32_t rel;
  memcpy(&rel, f->buf + pos, 4);
  const int64_t vt = pos - (int64_t)rel;
  if (vt < 0 || vt > f->size - 4) {
    f->ok = 0;
    return;
  }
  const int64_t vsize = fb_u16(f, vt), declared = vsize > 4 ? (vsize - 4) / 2 : 0;
  if (vt + 4 + 2 * declared > f->size) { /* a vtable running past the end of the file */
    f->ok = 0;
    return;
  }
  for (int i = 0; i < n && i < declared; ++i) {
    const uint16_t o = fb_u16(f, vt + 4 + 2 * i);
    fields[i] = o ? pos + o : 0;
  }
}

/* The vector whose offset is stored at p (0: absent): position of its first element and its length, the
 * elements (of `elem` bytes) within the file. */
static int64_t fb_vector(er_fb *f, int64_t p, int64_t elem, int64_t *len) {
  *len = 0;
  if (!p) return 0;
  const int64_t start = p + (int64_t)fb_u32(f, p);
  const int64_t n = (int64_t)fb_u32(f, start);
  if (!f->ok || start + 4 + elem * n > f->size) {
    f->ok = 0;
    return 0;
  }
  *len = n;
  return start + 4;
}

static void er_read_tensor(er_fb *f, int64_t pos, int64_t *t) {
  int64_t fld[8], q[7];
  fb_table(f, pos, 8, fld); /* shape, type, buffer, name, quantization, is_variable, sparsity, signature */
  if (!f->ok) return;
  t[ER_TF_SHAPE] = fb_vector(f, fld[0], 4, &t[ER_TF_SHAPE_LEN]);
  t[ER_TF_SIGNATURE] = fb_vector(f, fld[7], 4, &t[ER_TF_SIGNATURE_LEN]);
  t[ER_TF_NAME] = fb_vector(f, fld[3], 1, &t[ER_TF_NAME_LEN]);
  t[ER_TF_TYPE] = fld[1] ? (int8_t)fb_u8(f, fld[1]) : 0;
  t[ER_TF_BUFFER] = fld[2] ? (int64_t)fb_u32(f, fld[2]) : 0;
  t[ER_TF_VARIABLE] = fld[5] ? fb_u8(f, fld[5]) != 0 : 0;
  t[ER_TF_SPARSITY] = fld[6] ? fld[6] + (int64_t)fb_u32(f, fld[6]) : 0;
  if (fld[4] && f->ok) {
    fb_table(f, fld[4] + (int64_t)fb_u32(f, fld[4]), 7, q); /* min, max, scale, zero_point, ..., dim */
    if (!f->ok) return;
    const int64_t sc = fb_vector(f, q[2], 4, &t[ER_TF_SCALE_LEN]), zp = fb_vector(f, q[3], 8, &t[ER_TF_ZERO_POINT_LEN]);
    t[ER_TF_SCALE] = sc;
    t[ER_TF_ZERO_POINT] = zp;
    t[ER_TF_QUANT_DIM] = q[6] ? (int32_t)fb_u32(f, q[6]) : 0;
    for (int64_t j = 0; j < t[ER_TF_SCALE_LEN] && f->ok; ++j) {
      float s;
      memcpy(&s, f->buf + sc + 4 * j, 4);
      if (!(isfinite(s) && s >= 0.0f)) f->ok = 0;
    }
    for (int64_t j = 0; j < t[ER_TF_ZERO_POINT_LEN] && f->ok; ++j) {
      int64_t z;
      memcpy(&z, f->buf + zp + 8 * j, 8);
      if (z < INT32_MIN || z > INT32_MAX) f->ok = 0;
    }
  }
}

int64_t er_read_tensors(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out) {
  int64_t good = 0;
  for (int64_t i = 0; i < n; ++i) {
    er_fb f = {buf, size, 1};
    int64_t *t = out + i * ER_TF_COLS;
    memset(t, 0, sizeof(int64_t) * ER_TF_COLS);
    const int64_t at = vec + 4 * i;
    const int64_t pos = at + (int64_t)fb_u32(&f, at);
    if (f.ok) er_read_tensor(&f, pos, t);
    t[ER_TF_OK] = f.ok;
    good += f.ok;
  }
  return good;
}

int64_t er_read_buffers(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out) {
  int64_t good = 0;
  for (int64_t i = 0; i < n; ++i) {
    er_fb f = {buf, size, 1};
    int64_t *b = out + i * ER_BF_COLS, fld[3];
    memset(b, 0, sizeof(int64_t) * ER_BF_COLS);
    const int64_t at = vec + 4 * i;
    const int64_t pos = at + (int64_t)fb_u32(&f, at);
    if (f.ok) fb_table(&f, pos, 3, fld); /* data, offset, size */
    if (f.ok) {
      const uint64_t off = fld[1] ? fb_u64(&f, fld[1]) : 0, sz = fld[2] ? fb_u64(&f, fld[2]) : 0;
      /* as int64: values past INT64_MAX are left to the Python reader */
      if (off > (uint64_t)INT64_MAX || sz > (uint64_t)INT64_MAX) f.ok = 0;
      b[ER_BF_OFFSET] = (int64_t)(off & (uint64_t)INT64_MAX);
      b[ER_BF_SIZE] = (int64_t)(sz & (uint64_t)INT64_MAX);
      if (fld[0] && f.ok) {
        const int64_t start = fld[0] + (int64_t)fb_u32(&f, fld[0]);
        b[ER_BF_DATA_LEN] = (int64_t)fb_u32(&f, start);
        b[ER_BF_DATA] = start + 4;
      }
    }
    b[ER_BF_OK] = f.ok;
    good += f.ok;
  }
  return good;
}

/* The table an offset stored at p points to (0: absent). */
static int64_t fb_target(er_fb *f, int64_t p) { return p ? p + (int64_t)fb_u32(f, p) : 0; }

int64_t er_read_operators(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out) {
  int64_t good = 0;
  for (int64_t i = 0; i < n; ++i) {
    er_fb f = {buf, size, 1};
    int64_t *o = out + i * ER_OP_COLS, fld[13];
    memset(o, 0, sizeof(int64_t) * ER_OP_COLS);
    const int64_t at = vec + 4 * i;
    const int64_t pos = at + (int64_t)fb_u32(&f, at);
    if (f.ok) fb_table(&f, pos, 13, fld);
    if (f.ok) {
      o[ER_OP_OPCODE] = fld[0] ? (int64_t)fb_u32(&f, fld[0]) : 0;
      o[ER_OP_INPUTS] = fb_vector(&f, fld[1], 4, &o[ER_OP_INPUTS_LEN]);
      o[ER_OP_OUTPUTS] = fb_vector(&f, fld[2], 4, &o[ER_OP_OUTPUTS_LEN]);
      o[ER_OP_INTERMEDIATES] = fb_vector(&f, fld[8], 4, &o[ER_OP_INTERMEDIATES_LEN]);
      o[ER_OP_OPTIONS_TYPE] = fld[3] ? fb_u8(&f, fld[3]) : 0;
      o[ER_OP_OPTIONS] = fb_target(&f, fld[4]);
      o[ER_OP_OPTIONS2_TYPE] = fld[11] ? fb_u8(&f, fld[11]) : 0;
      o[ER_OP_OPTIONS2] = fb_target(&f, fld[12]);
      o[ER_OP_CUSTOM] = fb_vector(&f, fld[5], 1, &o[ER_OP_CUSTOM_LEN]);
      const uint64_t off = fld[9] ? fb_u64(&f, fld[9]) : 0, sz = fld[10] ? fb_u64(&f, fld[10]) : 0;
      if (off > (uint64_t)INT64_MAX || sz > (uint64_t)INT64_MAX) f.ok = 0; /* left to the Python reader */
      o[ER_OP_LARGE_OFFSET] = (int64_t)(off & (uint64_t)INT64_MAX);
      o[ER_OP_LARGE_SIZE] = (int64_t)(sz & (uint64_t)INT64_MAX);
    }
    o[ER_OP_OK] = f.ok;
    good += f.ok;
  }
  return good;
}

/* Plan file -> model: check every field of the file (platforms/lib/PLAN_FORMAT.md) and build the records the
 * executor runs (kernels/exec.c), in one allocation.
 *
 * The file is walked twice by the same code: a measuring pass (ctx.fill == 0) checks the structure and adds
 * up the sizes of what the model needs; after the one allocation, a filling pass walks it again, writes the
 * records and does the checks that need them (tensor ids of ops, params structs of kernels, pointer
 * targets, the subplan graph). Every read goes through a bounds-checked cursor; sizes are computed in
 * uint64_t with overflow checks before they become size_t. This is the C twin of runtime/materialize.py. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "model.h"
#include "edgerun/host_isa.h"

#define HEADER_BYTES 96u
#define SECTION_ENTRY 24u
#define N_SECTIONS 7u
enum { S_STRINGS = 1, S_KERNELS, S_STRUCTS, S_PARAMS, S_SUBPLANS, S_VARIABLES, S_CONSTS };
static const char *const section_names[] = {"", "strings", "kernels", "structs", "params", "subplans",
                                            "variables", "consts"};
enum { ST_NONE, ST_ARENA, ST_CONST, ST_VARIABLE };
enum { V_INT, V_FLOAT, V_NULL, V_CONST, V_SUBPLAN, V_VARIABLE };
#define VALUE_BYTES 24u
#define TENSOR_FIXED 80u
#define OP_FIXED 44u
#define SUBPLAN_FIXED 40u
#define VARIABLE_FIXED 60u
#define MAX_SUBPLANS 256u
#define MAX_COUNT 0x1000000u  /* any count: 16M */
#define MAX_BYTES ((uint64_t)1 << 40)  /* any size: 1 TiB, far above real plans, far below overflow */

typedef struct ctx {
  const uint8_t *d;       /* the file */
  uint64_t n;
  int fill;               /* 0: measure, 1: build */
  int no_checksum;        /* ER_RT_NO_CHECKSUM */
  int quiet;              /* ER_RT_QUIET: record contexts ("subplan 0 op #3 CONV_2D") are not formatted */
  char *err;
  size_t err_size;
  edgerun_status status;
  /* bump allocation inside the block (measure: offsets only) */
  uint8_t *base;
  uint64_t used, capacity;
  uint64_t sec_off[N_SECTIONS + 1], sec_len[N_SECTIONS + 1];
  uint32_t alignment;
  uint64_t arena_bytes;
  uint64_t arena_used; /* the end of the last tensor or scratch placed in the arena */
  /* tables, valid in the filling pass */
  uint32_t n_kernels, n_structs, n_params, n_subplans, n_variables, n_consts;
  int32_t *kernel_ids;    /* [n_kernels] library kernel id */
  int32_t *kernel_struct; /* [n_kernels] layout id of the struct the kernel reads, -1 none */
  int32_t *kernel_entry;  /* [n_kernels] its row of erl_kernels (what it takes on trust) */
  int32_t *struct_ids;    /* [n_structs] layout id */
  void **params;          /* [n_params] filled structs */
  int32_t *params_struct; /* [n_params] layout id */
  er_plan *plans;
  er_rt_op_info **op_infos; /* [n_subplans] */
  er_tensor *tensors0;      /* the main subplan's tensors and their names */
  const char **names0;
  uint32_t n_tensors0;
  er_rt_variable *vars;
  uint8_t *arena;
  edgerun_model *model;
} ctx;

/* The context of a record for messages; formatted only when messages are wanted (a quiet open that fails is
 * run again with them, er_rt_load). */
#define WHAT(buf, ...) ((void)(c->quiet ? ((buf)[0] = 0) : snprintf((buf), sizeof(buf), __VA_ARGS__)))

static int fail(ctx *c, edgerun_status st, const char *fmt, ...) {
  if (c->status == EDGERUN_OK) {
    va_list ap;
    va_start(ap, fmt);
    if (c->err != NULL && c->err_size > 0) vsnprintf(c->err, c->err_size, fmt, ap);
    va_end(ap);
    c->status = st;
  }
  return 0;
}
#define BAD(...) fail(c, EDGERUN_ERROR_FORMAT, __VA_ARGS__)

/* -- reading ------------------------------------------------------------------------------------------- */
static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static int32_t as_i32(uint32_t v) { return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN; }
static int64_t as_i64(uint64_t v) {
  return v <= INT64_MAX ? (int64_t)v : (int64_t)(v - 0x8000000000000000u) + INT64_MIN;
}

typedef struct cur {
  uint64_t at, end;
  const char *what;
} cur;

static int need(ctx *c, cur *r, uint64_t bytes) {
  if (bytes > r->end - r->at) return BAD("%s: truncated (needs %llu bytes at file offset %llu, has %llu)", r->what,
                                         (unsigned long long)bytes, (unsigned long long)r->at,
                                         (unsigned long long)(r->end - r->at));
  return 1;
}
static int u32(ctx *c, cur *r, uint32_t *v) {
  if (!need(c, r, 4)) return 0;
  *v = le32(c->d + r->at);
  r->at += 4;
  return 1;
}
static int i32(ctx *c, cur *r, int32_t *v) {
  uint32_t u;
  if (!u32(c, r, &u)) return 0;
  *v = as_i32(u);
  return 1;
}
static int u64(ctx *c, cur *r, uint64_t *v) {
  if (!need(c, r, 8)) return 0;
  *v = le64(c->d + r->at);
  r->at += 8;
  return 1;
}
static int i64(ctx *c, cur *r, int64_t *v) {
  uint64_t u;
  if (!u64(c, r, &u)) return 0;
  *v = as_i64(u);
  return 1;
}
/* A cursor over a section, from `off` bytes into it. */
static int section(ctx *c, int id, uint64_t off, cur *r) {
  r->at = r->end = 0;
  r->what = section_names[id];
  if (off > c->sec_len[id]) return BAD("%s: record offset %llu outside the section (%llu bytes)", section_names[id],
                                      (unsigned long long)off, (unsigned long long)c->sec_len[id]);
  r->at = c->sec_off[id] + off;
  r->end = c->sec_off[id] + c->sec_len[id];
  r->what = section_names[id];
  return 1;
}
/* A string reference: NUL right after it, none inside. */
static int string(ctx *c, cur *r, const char **s, const char *what) {
  uint32_t off, len;
  if (!u32(c, r, &off) || !u32(c, r, &len)) return 0;
  uint64_t size = c->sec_len[S_STRINGS];
  if ((uint64_t)off + len >= size) return BAD("%s: string [%u, +%u) outside the strings section (%llu bytes)", what,
                                             off, len, (unsigned long long)size);
  const uint8_t *p = c->d + c->sec_off[S_STRINGS] + off;
  if (p[len] != 0 || memchr(p, 0, len) != NULL) return BAD("%s: string at %u is not NUL-terminated at its length %u",
                                                          what, off, len);
  *s = (const char *)p;
  return 1;
}

/* -- allocation inside the block ---------------------------------------------------------------------- */
static void *take(ctx *c, uint64_t count, uint64_t size, uint64_t align) {
  if (size != 0 && count > MAX_BYTES / size) {
    BAD("a count of %llu is too large", (unsigned long long)count);
    return NULL;
  }
  uint64_t at = (c->used + align - 1) / align * align;
  c->used = at + count * size;
  if (c->used > (c->fill ? c->capacity : MAX_BYTES)) {
    BAD("the model needs more than %llu bytes", (unsigned long long)(c->fill ? c->capacity : MAX_BYTES));
    return NULL;
  }
  return c->fill ? c->base + at : NULL;
}
#define TAKE(c, n, T) ((T *)take((c), (n), sizeof(T), _Alignof(T)))

/* -- types -------------------------------------------------------------------------------------------- */
static int64_t type_size(int32_t t) {
  switch (t) {
    case ER_FLOAT32: case ER_INT32: case ER_UINT32: return 4;
    case ER_FLOAT16: case ER_INT16: case ER_UINT16: return 2;
    case ER_UINT8: case ER_INT8: case ER_BOOL: return 1;
    case ER_INT64: case ER_UINT64: case ER_FLOAT64: return 8;
    default: return 0;
  }
}

/* ndim and dims: ranks 0..8, dims >= 0, element count without overflow. */
static int shape(ctx *c, cur *r, int32_t *ndim, int32_t dims[8], int64_t *count, const char *what) {
  if (!i32(c, r, ndim)) return 0;
  for (int k = 0; k < 8; ++k)
    if (!i32(c, r, &dims[k])) return 0;
  if (*ndim < 0 || *ndim > 8) return BAD("%s: rank %d (0..8)", what, *ndim);
  int64_t n = 1;
  for (int k = 0; k < *ndim; ++k) {
    if (dims[k] < 0) return BAD("%s: dimension %d is %d", what, k, dims[k]);
    if (dims[k] != 0 && n > (int64_t)(MAX_BYTES / (uint64_t)dims[k])) return BAD("%s: too many elements", what);
    n *= dims[k];
  }
  *count = n;
  return 1;
}

/* CRC-32 (zlib's), table built on the stack: no state outside the call. */
static uint32_t crc32(const uint8_t *p, uint64_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t v = i;
    for (int k = 0; k < 8; ++k) v = (v & 1) ? 0xEDB88320u ^ (v >> 1) : v >> 1;
    table[i] = v;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

/* -- sections ------------------------------------------------------------------------------------------ */
static const struct {
  const char *name;
  int isa;
} kernel_sets[] = {
    {"portable", ER_HOST_ISA_PORTABLE},
    {"sse2", ER_HOST_ISA_SSE2},
    {"avx2", ER_HOST_ISA_AVX2},
    {"avx512vnni", ER_HOST_ISA_AVX512VNNI},
#ifdef ER_HOST_ISA_NEON
    {"neon", ER_HOST_ISA_NEON},
#endif
#ifdef ER_HOST_ISA_NEON_DOTPROD
    {"neon-dotprod", ER_HOST_ISA_NEON_DOTPROD},
#endif
};

static int fixed_text(ctx *c, uint64_t at, char out[16], const char *what) {
  memcpy(out, c->d + at, 16);
  if (memchr(out, 0, 16) == NULL) return BAD("header: %s is not NUL-terminated within 16 bytes", what);
  return 1;
}

static int header(ctx *c, char target[16], char kernel_set[16]) {
  static const uint8_t magic[8] = {'E', 'D', 'G', 'E', 'R', 'U', 'N', 'P'};
  if (c->n < HEADER_BYTES + N_SECTIONS * SECTION_ENTRY || memcmp(c->d, magic, 8) != 0)
    return BAD("not an edgerun plan file (%s)", c->n < 8 ? "too short" : "bad magic");
  uint32_t version = le32(c->d + 8);
  if (version != EDGERUN_PLAN_FORMAT_VERSION)
    return fail(c, EDGERUN_ERROR_VERSION, "plan format version %u; this library reads version %d", version,
                EDGERUN_PLAN_FORMAT_VERSION);
  if (le64(c->d + 16) != c->n) return BAD("the file is %llu bytes, its header says %llu (truncated?)",
                                          (unsigned long long)c->n, (unsigned long long)le64(c->d + 16));
  if (!c->fill && !c->no_checksum && crc32(c->d + 16, c->n - 16) != le32(c->d + 12))
    return BAD("plan file checksum mismatch: the file is corrupted (CRC-32 %08x, header says %08x)",
               crc32(c->d + 16, c->n - 16), le32(c->d + 12));
  char ver[16];
  if (!fixed_text(c, 24, ver, "edgerun version") || !fixed_text(c, 40, target, "target") ||
      !fixed_text(c, 56, kernel_set, "kernel set"))
    return 0;
  c->arena_bytes = le64(c->d + 72);
  c->alignment = le32(c->d + 80);
  if (c->arena_bytes > MAX_BYTES) return BAD("header: arena of %llu bytes", (unsigned long long)c->arena_bytes);
  if (c->alignment < 16 || c->alignment > 4096 || (c->alignment & (c->alignment - 1)) != 0)
    return BAD("header: arena alignment %u (a power of two, 16..4096)", c->alignment);
  if (le32(c->d + 84) != N_SECTIONS) return BAD("header: %u sections, expected %u", le32(c->d + 84), N_SECTIONS);
  uint64_t prev_end = HEADER_BYTES + N_SECTIONS * SECTION_ENTRY;
  for (uint32_t k = 1; k <= N_SECTIONS; ++k) {
    const uint8_t *e = c->d + HEADER_BYTES + (k - 1) * SECTION_ENTRY;
    uint64_t off = le64(e + 8), len = le64(e + 16);
    if (le32(e) != k) return BAD("section table entry %u has id %u, expected %u", k - 1, le32(e), k);
    if (off % 16 != 0 || off < prev_end || off > c->n || len > c->n - off)
      return BAD("section %s at [%llu, +%llu) is misaligned, overlaps another or lies outside the file (%llu bytes)",
                 section_names[k], (unsigned long long)off, (unsigned long long)len, (unsigned long long)c->n);
    c->sec_off[k] = off;
    c->sec_len[k] = len;
    prev_end = off + len;
  }
  /* the kernel set decides packed weight layouts: the library must run those exact kernels */
  if (strcmp(kernel_set, "ref") == 0) return 1;
  for (size_t k = 0; k < sizeof kernel_sets / sizeof kernel_sets[0]; ++k) {
    if (strcmp(kernel_set, kernel_sets[k].name) != 0) continue;
    if (!(er_host_isa_supported() & (1 << kernel_sets[k].isa))) break;
    int isa = kernel_sets[k].isa;
#ifdef ER_HOST_ISA_NEON_DOTPROD
    /* the neon sets share one plan (dot layout): a neon plan takes the dot-product micro-kernels where the CPU
     * has them (AT_HWCAP), the plain NEON ones elsewhere */
    if (isa == ER_HOST_ISA_NEON && (er_host_isa_supported() & (1 << ER_HOST_ISA_NEON_DOTPROD)))
      isa = ER_HOST_ISA_NEON_DOTPROD;
#endif
    if (c->fill && er_selected_isa() != isa && er_select_isa(isa) != ER_OK) break;
    return 1;
  }
  return fail(c, EDGERUN_ERROR_INCOMPATIBLE,
              "the plan was prepared for target %s with kernel set '%s', which this library (kernel sets %s) or "
              "this CPU does not run: compile the model for this device's target", target, kernel_set,
              edgerun_kernel_sets());
}

/* KERNELS: plan kernel names -> library kernel ids, all unknown names in one message. */
static int kernels(ctx *c) {
  cur r;
  if (!section(c, S_KERNELS, 0, &r) || !u32(c, &r, &c->n_kernels)) return 0;
  if (c->n_kernels > MAX_COUNT) return BAD("kernels: count %u", c->n_kernels);
  if (!need(c, &r, (uint64_t)c->n_kernels * 8)) return 0;
  int32_t *ids = TAKE(c, c->n_kernels, int32_t), *structs = TAKE(c, c->n_kernels, int32_t);
  int32_t *entries = TAKE(c, c->n_kernels, int32_t);
  if (c->status != EDGERUN_OK || !c->fill) return c->status == EDGERUN_OK;
  c->kernel_ids = ids;
  c->kernel_struct = structs;
  c->kernel_entry = entries;
  char missing[160] = "";
  int n_missing = 0;
  int32_t n_lib = er_kernel_count();
  for (uint32_t k = 0; k < c->n_kernels; ++k) {
    const char *name;
    if (!string(c, &r, &name, "kernel name")) return 0;
    ids[k] = -1;
    for (int32_t j = 0; j < n_lib; ++j)
      if (strcmp(er_kernel_name(j), name) == 0) ids[k] = j;
    structs[k] = -1;
    entries[k] = -1;
    int known = 0;
    for (int32_t j = 0; j < erl_kernel_count; ++j) {
      if (strcmp(erl_kernels[j].kernel, name) != 0) continue;
      known = 1;
      entries[k] = j;
      for (int32_t s = 0; erl_kernels[j].params != NULL && s < erl_struct_count; ++s)
        if (strcmp(erl_structs[s].name, erl_kernels[j].params) == 0) structs[k] = s;
    }
    if (ids[k] >= 0 && !known)
      return fail(c, EDGERUN_ERROR_INCOMPATIBLE, "kernel %s is missing from this library's params table "
                  "(src/layout_gen.c is older than the kernel list: run platforms/lib/gen_layout.py)", name);
    if (ids[k] < 0) {
      size_t used = strlen(missing);
      if (used + 1 < sizeof missing)
        snprintf(missing + used, sizeof missing - used, "%s%s", n_missing ? ", " : "", name);
      ++n_missing;
    }
  }
  if (n_missing)
    return fail(c, EDGERUN_ERROR_INCOMPATIBLE, "the plan calls %d kernel(s) this library does not have: %s", n_missing,
                missing);
  return 1;
}

/* STRUCTS: plan struct names -> layout ids, leaf counts and signatures equal. */
static int structs(ctx *c) {
  cur r;
  if (!section(c, S_STRUCTS, 0, &r) || !u32(c, &r, &c->n_structs)) return 0;
  if (c->n_structs > 4096) return BAD("structs: count %u", c->n_structs);
  if (!need(c, &r, (uint64_t)c->n_structs * 16)) return 0;
  int32_t *ids = TAKE(c, c->n_structs, int32_t);
  if (c->status != EDGERUN_OK || !c->fill) return c->status == EDGERUN_OK;
  c->struct_ids = ids;
  for (uint32_t k = 0; k < c->n_structs; ++k) {
    const char *name;
    uint32_t n_leaves, signature;
    if (!string(c, &r, &name, "struct name") || !u32(c, &r, &n_leaves) || !u32(c, &r, &signature)) return 0;
    ids[k] = -1;
    for (int32_t s = 0; s < erl_struct_count; ++s)
      if (strcmp(erl_structs[s].name, name) == 0) ids[k] = s;
    if (ids[k] < 0) return fail(c, EDGERUN_ERROR_INCOMPATIBLE, "params struct %s is unknown to this library", name);
    const erl_struct *st = &erl_structs[ids[k]];
    if ((int64_t)n_leaves != st->n_leaves || signature != st->signature)
      return fail(c, EDGERUN_ERROR_INCOMPATIBLE, "params struct %s: the plan's layout (%u fields, signature %08x) "
                  "differs from this library's (%d, %08x): compile the model again", name, n_leaves, signature,
                  st->n_leaves, st->signature);
  }
  return 1;
}

/* One CONSTS table entry (checked each time it is used). */
static int const_entry(ctx *c, uint32_t id, const uint8_t **data, uint64_t *bytes, const char *what) {
  if (id >= c->n_consts) return BAD("%s: const %u of %u", what, id, c->n_consts);
  cur r;
  uint64_t off;
  if (!section(c, S_CONSTS, 8 + (uint64_t)id * 16, &r) || !u64(c, &r, &off) || !u64(c, &r, bytes)) return 0;
  if (off % 16 != 0 || off > c->sec_len[S_CONSTS] || *bytes > c->sec_len[S_CONSTS] - off)
    return BAD("%s: const %u at [%llu, +%llu) misaligned or outside the consts section", what, id,
               (unsigned long long)off, (unsigned long long)*bytes);
  *data = c->d + c->sec_off[S_CONSTS] + off;
  return 1;
}

static int consts(ctx *c) {
  cur r;
  uint32_t zero;
  if (!section(c, S_CONSTS, 0, &r) || !u32(c, &r, &c->n_consts) || !u32(c, &r, &zero)) return 0;
  if (c->n_consts > MAX_COUNT || !need(c, &r, (uint64_t)c->n_consts * 16)) return BAD("consts: count %u", c->n_consts);
  for (uint32_t k = 0; k < c->n_consts; ++k) {
    const uint8_t *p;
    uint64_t b;
    if (!const_entry(c, k, &p, &b, "consts")) return 0;
  }
  return 1;
}

static int variables(ctx *c) {
  cur r;
  if (!section(c, S_VARIABLES, 0, &r) || !u32(c, &r, &c->n_variables)) return 0;
  if (c->n_variables > MAX_COUNT || !need(c, &r, (uint64_t)c->n_variables * VARIABLE_FIXED))
    return BAD("variables: count %u", c->n_variables);
  er_rt_variable *vars = TAKE(c, c->n_variables, er_rt_variable);
  c->vars = vars;
  for (uint32_t k = 0; k < c->n_variables; ++k) {
    const char *name;
    int32_t type, ndim, dims[8], initial;
    int64_t count, bytes;
    char what[48];
    WHAT(what, "variable %u", k);
    if (!string(c, &r, &name, what) || !i32(c, &r, &type) || !shape(c, &r, &ndim, dims, &count, what) ||
        !i64(c, &r, &bytes) || !i32(c, &r, &initial))
      return 0;
    if (type_size(type) == 0) return BAD("variable %u '%s': type %d", k, name, type);
    if (bytes != count * type_size(type)) return BAD("variable %u '%s': %lld bytes for %lld elements of type %d", k,
                                                    name, (long long)bytes, (long long)count, type);
    const uint8_t *init = NULL;
    uint64_t init_bytes = 0;
    if (initial != -1) {
      if (initial < 0 || !const_entry(c, (uint32_t)initial, &init, &init_bytes, what)) return BAD("%s: initial value "
                                                                                                  "const %d", what, initial);
      if (init_bytes != (uint64_t)bytes) return BAD("%s '%s': initial value of %llu bytes for %lld", what, name,
                                                    (unsigned long long)init_bytes, (long long)bytes);
    }
    uint8_t *data = take(c, (uint64_t)bytes, 1, 16);
    if (c->status != EDGERUN_OK) return 0;
    if (c->fill) { /* the initial value from the start, as the desktop interpreter and edgerun_reset_variables */
      vars[k] = (er_rt_variable){data, (size_t)bytes, init};
      if (init != NULL && bytes > 0) memcpy(data, init, (size_t)bytes);
      else if (bytes > 0) memset(data, 0, (size_t)bytes);
    }
  }
  return 1;
}

/* -- params -------------------------------------------------------------------------------------------- */
/* A pointer leaf's target: const or variable bytes [a, a + b) inside it, aligned for the element. */
static int pointer_target(ctx *c, uint32_t tag, uint32_t id, int64_t a, int64_t b, const erl_leaf *leaf,
                          const void **out, const char *what) {
  const uint8_t *base;
  uint64_t size;
  if (tag == V_CONST) {
    if (!const_entry(c, id, &base, &size, what)) return 0;
  } else {
    if (id >= c->n_variables) return BAD("%s: variable %u of %u", what, id, c->n_variables);
    size = c->fill ? c->vars[id].bytes : 0;
    base = c->fill ? c->vars[id].data : NULL;
  }
  if (a < 0 || b < 0 || (c->fill && ((uint64_t)a > size || (uint64_t)b > size - (uint64_t)a)))
    return BAD("%s: bytes [%lld, +%lld) outside its %s %u (%llu bytes)", what, (long long)a, (long long)b,
               tag == V_CONST ? "const" : "variable", id, (unsigned long long)size);
  if (leaf->pointee > 1 && a % leaf->pointee != 0)
    return BAD("%s: offset %lld is not a multiple of its %d-byte elements", what, (long long)a, leaf->pointee);
  *out = base != NULL ? base + a : NULL;
  return 1;
}

static int leaf_value(ctx *c, cur *r, const erl_leaf *leaf, uint8_t *dst, const char *what) {
  uint32_t tag, id;
  int64_t a, b;
  if (!u32(c, r, &tag) || !u32(c, r, &id) || !i64(c, r, &a) || !i64(c, r, &b)) return 0;
  if (leaf->kind == ERL_PTR || leaf->kind == ERL_PLAN) {
    const void *p = NULL;
    if (tag == V_NULL) {
      p = NULL;
    } else if (tag == V_SUBPLAN && leaf->kind == ERL_PLAN) {
      if (id >= c->n_subplans) return BAD("%s: subplan %u of %u", what, id, c->n_subplans);
      p = c->fill ? (const void *)&c->plans[id] : NULL;
    } else if ((tag == V_CONST || tag == V_VARIABLE) && leaf->kind == ERL_PTR) {
      if (!pointer_target(c, tag, id, a, b, leaf, &p, what)) return 0;
    } else {
      return BAD("%s: value tag %u does not fit a %s pointer", what, tag, leaf->kind == ERL_PLAN ? "subplan" : "data");
    }
    if (c->fill) memcpy(dst + leaf->offset, &p, sizeof p);
    return 1;
  }
  if (leaf->kind == ERL_F32 || leaf->kind == ERL_F64) {
    if (tag != V_FLOAT) return BAD("%s: value tag %u for a float field", what, tag);
    double v;
    uint64_t bits = (uint64_t)a;
    memcpy(&v, &bits, sizeof v);
    if (leaf->kind == ERL_F32) {
      if (isfinite(v) && fabs(v) > FLT_MAX) return BAD("%s: %g does not fit a float", what, v);
      float f = (float)v;
      if (c->fill) memcpy(dst + leaf->offset, &f, sizeof f);
    } else if (c->fill) {
      memcpy(dst + leaf->offset, &v, sizeof v);
    }
    return 1;
  }
  if (tag != V_INT) return BAD("%s: value tag %u for an integer field", what, tag);
  static const struct {
    int64_t lo, hi;
    int size;
  } range[] = {[ERL_I8] = {INT8_MIN, INT8_MAX, 1},     [ERL_U8] = {0, UINT8_MAX, 1},
               [ERL_I16] = {INT16_MIN, INT16_MAX, 2},  [ERL_U16] = {0, UINT16_MAX, 2},
               [ERL_I32] = {INT32_MIN, INT32_MAX, 4},  [ERL_U32] = {0, UINT32_MAX, 4},
               [ERL_I64] = {INT64_MIN, INT64_MAX, 8},  [ERL_U64] = {INT64_MIN, INT64_MAX, 8}};
  if (leaf->kind < ERL_I8 || leaf->kind > ERL_U64) return BAD("%s: unknown field kind %d", what, leaf->kind);
  /* 64-bit fields are element counts, strides and offsets: within 32 bits, the product of two of them (as the
   * kernels form: rows * depth, outer * inner bytes) cannot overflow. A WHILE loop's limit is a count of runs. */
  if ((leaf->kind == ERL_I64 || leaf->kind == ERL_U64) && (a < -INT32_MAX || a > INT32_MAX) &&
      strcmp(leaf->path, "max_iterations") != 0)
    return BAD("%s: %lld outside the +-(2^31 - 1) of counts and strides", what, (long long)a);
  if (a < range[leaf->kind].lo || a > range[leaf->kind].hi) return BAD("%s: %lld out of the field's range", what,
                                                                      (long long)a);
  if (c->fill) {
    uint8_t *p = dst + leaf->offset;
    switch (leaf->kind) {
      case ERL_I8: { int8_t v = (int8_t)a; memcpy(p, &v, 1); break; }
      case ERL_U8: { uint8_t v = (uint8_t)a; memcpy(p, &v, 1); break; }
      case ERL_I16: { int16_t v = (int16_t)a; memcpy(p, &v, 2); break; }
      case ERL_U16: { uint16_t v = (uint16_t)a; memcpy(p, &v, 2); break; }
      case ERL_I32: { int32_t v = (int32_t)a; memcpy(p, &v, 4); break; }
      case ERL_U32: { uint32_t v = (uint32_t)a; memcpy(p, &v, 4); break; }
      default: { uint64_t v = (uint64_t)a; memcpy(p, &v, 8); break; }
    }
  }
  return 1;
}

/* Cursor at params block k, its layout id and value count checked. */
static int params_block(ctx *c, uint32_t k, cur *r, int32_t *layout) {
  cur t;
  uint64_t off;
  if (!section(c, S_PARAMS, 4 + (uint64_t)k * 8, &t) || !u64(c, &t, &off) || !section(c, S_PARAMS, off, r))
    return 0;
  uint32_t sid, n;
  if (!u32(c, r, &sid) || !u32(c, r, &n)) return 0;
  if (sid >= c->n_structs) return BAD("params block %u: struct %u of %u", k, sid, c->n_structs);
  if (!c->fill) {
    *layout = -1;
    return need(c, r, (uint64_t)n * VALUE_BYTES);
  }
  *layout = c->struct_ids[sid];
  if ((int64_t)n != erl_structs[*layout].n_leaves)
    return BAD("params block %u (%s): %u values for %d fields", k, erl_structs[*layout].name, n,
               erl_structs[*layout].n_leaves);
  return need(c, r, (uint64_t)n * VALUE_BYTES);
}

static int params(ctx *c) {
  cur r;
  if (!section(c, S_PARAMS, 0, &r) || !u32(c, &r, &c->n_params)) return 0;
  if (c->n_params > MAX_COUNT || !need(c, &r, (uint64_t)c->n_params * 8)) return BAD("params: count %u", c->n_params);
  void **ptrs = TAKE(c, c->n_params, void *);
  int32_t *layouts = TAKE(c, c->n_params, int32_t);
  c->params = ptrs;
  c->params_struct = layouts;
  for (uint32_t k = 0; k < c->n_params; ++k) {
    cur b;
    int32_t layout;
    if (!params_block(c, k, &b, &layout)) return 0;
    if (!c->fill) {
      /* size unknown until the struct table is resolved: reserve the largest struct */
      size_t largest = 0;
      for (int32_t s = 0; s < erl_struct_count; ++s)
        if (erl_structs[s].size > largest) largest = erl_structs[s].size;
      take(c, largest, 1, 16);
      continue;
    }
    const erl_struct *st = &erl_structs[layout];
    uint8_t *dst = take(c, st->size, 1, 16);
    memset(dst, 0, st->size);
    for (int32_t j = 0; j < st->n_leaves; ++j) {
      char what[96];
      WHAT(what, "params block %u (%s) field %s", k, st->name, st->leaves[j].path);
      if (!leaf_value(c, &b, &st->leaves[j], dst, what)) return 0;
    }
    ptrs[k] = dst;
    layouts[k] = layout;
  }
  return c->status == EDGERUN_OK;
}

/* The value record of leaf `path` in params block k (pointer lengths implied by the kernel). */
static int leaf_record(ctx *c, uint32_t k, const char *path, uint32_t *tag, int64_t *length) {
  cur r;
  int32_t layout;
  if (!params_block(c, k, &r, &layout)) return 0;
  const erl_struct *st = &erl_structs[layout];
  for (int32_t j = 0; j < st->n_leaves; ++j) {
    if (strcmp(st->leaves[j].path, path) != 0) continue;
    r.at += (uint64_t)j * VALUE_BYTES;
    uint32_t id;
    int64_t a;
    return u32(c, &r, tag) && u32(c, &r, &id) && i64(c, &r, &a) && i64(c, &r, length);
  }
  *tag = V_NULL;
  return 1;
}

/* Minimum pointer lengths a kernel's params imply, where simple: per-output-channel arrays of the conv family
 * (4 bytes per channel of output 0's last dimension) and CALL_ONCE's flag. The rest is trusted (header). */
/* An integer leaf of a filled params struct, by path (0 when absent). */
static int64_t int_leaf(const erl_struct *st, const void *params, const char *path) {
  for (int32_t f = 0; f < st->n_leaves; ++f) {
    const erl_leaf *leaf = &st->leaves[f];
    if (strcmp(leaf->path, path) != 0) continue;
    const uint8_t *p = (const uint8_t *)params + leaf->offset;
    switch (leaf->kind) {
      case ERL_I32: { int32_t v; memcpy(&v, p, 4); return v; }
      case ERL_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
      case ERL_I64: case ERL_U64: { int64_t v; memcpy(&v, p, 8); return v; }
      default: return 0;
    }
  }
  return 0;
}

static int implied_lengths(ctx *c, const er_op *op, int32_t block, const char *label) {
  static const char *const per_channel[] = {"multipliers", "shifts", "channel_scales"};
  const char *name = erl_structs[c->params_struct[block]].name;
  const erl_struct *pst = &erl_structs[c->params_struct[block]];
  for (int32_t k = 0; k < erl_sized_count; ++k) {
    const erl_sized *z = &erl_sized_fields[k];
    if (strcmp(z->params, name) != 0) continue;
    int64_t count = int_leaf(pst, op->params, z->count), len;
    uint32_t tag;
    if (count <= 0) continue;
    if (!leaf_record(c, (uint32_t)block, z->pointer, &tag, &len)) return 0;
    int32_t size = 1;
    for (int32_t f = 0; f < pst->n_leaves; ++f)
      if (strcmp(pst->leaves[f].path, z->pointer) == 0) size = pst->leaves[f].pointee;
    if (tag == V_NULL || len / size < count)
      return BAD("%s: %s holds %lld bytes, its %s of %lld needs %lld", label, z->pointer,
                 (long long)(tag == V_NULL ? 0 : len), z->count, (long long)count, (long long)count * size);
  }
  if (strcmp(name, "er_call_once_params") == 0) {
    uint32_t tag;
    int64_t len;
    if (!leaf_record(c, (uint32_t)block, "done", &tag, &len)) return 0;
    if (tag != V_NULL && len < 4) return BAD("%s: CALL_ONCE flag of %lld bytes (4 needed)", label, (long long)len);
    return 1;
  }
  if (strcmp(name, "er_qconv_params") != 0 && strcmp(name, "er_conv_params") != 0) return 1;
  if (op->n_out < 1 || op->out[0] == NULL || op->out[0]->ndim < 1) return 1;
  int64_t channels = op->out[0]->dims[op->out[0]->ndim - 1];
  for (int k = 0; k < 3; ++k) {
    uint32_t tag;
    int64_t len;
    if (!leaf_record(c, (uint32_t)block, per_channel[k], &tag, &len)) return 0;
    if (tag != V_NULL && len < 4 * channels)
      return BAD("%s: %s holds %lld bytes, the op's %lld output channels need %lld", label, per_channel[k],
                 (long long)len, (long long)channels, (long long)(4 * channels));
  }
  /* requantization shifts are shift counts in C: TFLite's range [-31, 30] (quantize_multiplier) */
  const erl_struct *st = &erl_structs[c->params_struct[block]];
  for (int32_t j = 0; j < st->n_leaves; ++j) {
    if (strcmp(st->leaves[j].path, "shifts") != 0) continue;
    const int32_t *shifts;
    memcpy(&shifts, (const uint8_t *)op->params + st->leaves[j].offset, sizeof shifts);
    for (int64_t ch = 0; shifts != NULL && ch < channels; ++ch)
      if (shifts[ch] < -31 || shifts[ch] > 30)
        return BAD("%s: shift %d of channel %lld outside [-31, 30]", label, shifts[ch], (long long)ch);
  }
  return 1;
}

/* Integer params the kernels use as shift counts, divisors or loop steps without checking: their ranges.
 * `kernels` limits an entry to kernel names containing it (NULL: every kernel of the struct): "_conv2d" is
 * CONV_2D's kernels, not TRANSPOSE_CONV's (`_tconv2d`) or DEPTHWISE_CONV_2D's (`_dwconv2d`). */
static const struct {
  const char *params, *field, *kernels;
  int64_t lo, hi;
} int_ranges[] = {
    {"er_conv_params", "groups", NULL, 1, INT32_MAX},        {"er_qconv_params", "groups", NULL, 1, INT32_MAX},
    {"er_conv_params", "stride_h", "_conv2d", 1, INT32_MAX},  {"er_conv_params", "stride_w", "_conv2d", 1, INT32_MAX},
    {"er_conv_params", "dil_h", "_conv2d", 1, INT32_MAX},     {"er_conv_params", "dil_w", "_conv2d", 1, INT32_MAX},
    {"er_conv_params", "stride_h", "dwconv2d", 1, INT32_MAX}, {"er_conv_params", "stride_w", "dwconv2d", 1, INT32_MAX},
    {"er_conv_params", "dil_h", "dwconv2d", 1, INT32_MAX},    {"er_conv_params", "dil_w", "dwconv2d", 1, INT32_MAX},
    {"er_conv_params", "depth_multiplier", "dwconv2d", 1, INT32_MAX},
    {"er_qconv_params", "stride_h", "_conv2d", 1, INT32_MAX}, {"er_qconv_params", "stride_w", "_conv2d", 1, INT32_MAX},
    {"er_qconv_params", "dil_h", "_conv2d", 1, INT32_MAX},    {"er_qconv_params", "dil_w", "_conv2d", 1, INT32_MAX},
    {"er_qconv_params", "stride_h", "dwconv2d", 1, INT32_MAX}, {"er_qconv_params", "stride_w", "dwconv2d", 1, INT32_MAX},
    {"er_qconv_params", "dil_h", "dwconv2d", 1, INT32_MAX},   {"er_qconv_params", "dil_w", "dwconv2d", 1, INT32_MAX},
    {"er_qconv_params", "depth_multiplier", "dwconv2d", 1, INT32_MAX},
    /* zero-point offsets added to 8-bit values in int32 (TFLite's zero points: int8 -128..127, uint8 0..255) */
    {"er_qconv_params", "input_offset", NULL, -255, 255},    {"er_qconv_params", "weight_offset", NULL, -255, 255},
    {"er_qconv_params", "output_offset", NULL, -255, 255},
    {"er_q_softmax_params", "output_zp", NULL, -32768, 32767},
    /* requantization shifts: TFLite's range (quantize_multiplier) */
    {"er_q_reduce_params", "shift", NULL, -31, 30},           {"er_quant_params", "shift", NULL, -31, 30},
    {"er_q_binary_params", "in1_shift", NULL, -31, 30},       {"er_q_binary_params", "in2_shift", NULL, -31, 30},
    {"er_q_binary_params", "out_shift", NULL, -31, 30},       {"er_q_binary_params", "left_shift", NULL, 0, 30},
};

/* The index_map table: each output dimension k reads dims[k] entries from table_start[k] (an element offset
 * into input 0, or < 0 for padding); the largest offsets summed plus a run must stay inside in_extent, which
 * the kernel checks against the input. */
static int index_map_table(ctx *c, const er_op *op, int32_t block, const char *label) {
  const er_index_map_params *p = (const er_index_map_params *)op->params;
  uint32_t tag;
  int64_t len;
  if (!leaf_record(c, (uint32_t)block, "table", &tag, &len)) return 0;
  const int64_t entries = tag == V_NULL ? 0 : len / 8;
  if (p->ndim < 1 || p->ndim > ER_MAP_MAX_DIMS || p->run < 1 || p->in_extent < 0)
    return BAD("%s: index map of %d dims, runs of %lld", label, p->ndim, (long long)p->run);
  int64_t reach = p->run, total = 1;
  for (int32_t k = 0; k < p->ndim; ++k) {
    if (p->dims[k] < 0) return BAD("%s: index map dimension %d is %lld", label, k, (long long)p->dims[k]);
    total = p->dims[k] > 0 && total > INT64_MAX / p->dims[k] ? INT64_MAX : total * p->dims[k];
  }
  if (total == 0) return 1;
  for (int32_t k = 0; k < p->ndim; ++k) {
    if (p->table_start[k] < 0 || p->table_start[k] > entries || p->dims[k] > entries - p->table_start[k])
      return BAD("%s: index map dimension %d reads table entries [%lld, +%lld) of %lld", label, k,
                 (long long)p->table_start[k], (long long)p->dims[k], (long long)entries);
    int64_t most = 0;
    for (int64_t i = 0; i < p->dims[k]; ++i) {
      const int64_t t = p->table[p->table_start[k] + i];
      if (t > most) most = t;
    }
    if (most > p->in_extent) return BAD("%s: index map offset %lld past the input's %lld elements", label,
                                        (long long)most, (long long)p->in_extent);
    reach += most;
  }
  if (reach > p->in_extent)
    return BAD("%s: the index map reaches element %lld of an input of %lld", label, (long long)reach,
               (long long)p->in_extent);
  return 1;
}

/* The packed float conv's window offsets (koff): value k of a window is read at koff[k] from the window's
 * corner, so every offset must lie inside the window's span of the input (runtime/ops/conv.py builds them). */
static int conv_window_offsets(ctx *c, const er_op *op, int32_t block, const char *label) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  if (p->koff == NULL) return 1;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const int64_t K = w->count == 0 ? 0 : (int64_t)w->dims[1] * w->dims[2] * w->dims[3]; /* <= count <= 2^40 */
  /* in double: int32 dims and dilations can make the product pass 2^63; koff values are int32 */
  const double span = ((double)(w->dims[1] - 1) * p->dil_h * x->dims[2] + (double)(w->dims[2] - 1) * p->dil_w) *
                          x->dims[3] + w->dims[3];
  uint32_t tag;
  int64_t len;
  if (!leaf_record(c, (uint32_t)block, "koff", &tag, &len)) return 0;
  if (K < 0 || len / 4 < K) return BAD("%s: koff holds %lld bytes for a window of %lld values", label,
                                       (long long)len, (long long)K);
  for (int64_t k = 0; k < K; ++k)
    if (p->koff[k] < 0 || (double)p->koff[k] >= span)
      return BAD("%s: window offset koff[%lld] = %d outside the window's %.0f input values", label, (long long)k,
                 p->koff[k], span);
  return 1;
}

/* Products of several params integers that kernels form before comparing them with a tensor's bytes: each
 * must stay below 2^62 (64-bit fields are already within 32 bits, so two never overflow; these are 3 or 4). */
static const struct {
  const char *params;
  const char *fields[4];
} int_products[] = {
    {"er_gather_params", {"batch", "outer", "coord", "inner_bytes"}},
    {"er_gather_params", {"batch", "outer", "n_idx", "inner_bytes"}},
    {"er_gather_params", {"batch", "n_idx", "idx_size", NULL}},
    {"er_gather_nd_params", {"n", "k", "idx_size", NULL}},
};

static int params_numbers(ctx *c, const er_op *op, int32_t block, const char *kernel, const char *label) {
  const erl_struct *st = &erl_structs[c->params_struct[block]];
  for (size_t k = 0; k < sizeof int_products / sizeof int_products[0]; ++k) {
    if (strcmp(int_products[k].params, st->name) != 0) continue;
    double product = 1.0;
    for (int f = 0; f < 4 && int_products[k].fields[f] != NULL; ++f)
      product *= fabs((double)int_leaf(st, op->params, int_products[k].fields[f]));
    if (product >= 4611686018427387904.0)
      return BAD("%s: params %s * %s * ... is %g, past 2^62", label, int_products[k].fields[0],
                 int_products[k].fields[1], product);
  }
  for (size_t k = 0; k < sizeof int_ranges / sizeof int_ranges[0]; ++k) {
    if (strcmp(int_ranges[k].params, st->name) != 0) continue;
    if (int_ranges[k].kernels != NULL && strstr(kernel, int_ranges[k].kernels) == NULL) continue;
    const int64_t v = int_leaf(st, op->params, int_ranges[k].field);
    if (v < int_ranges[k].lo || v > int_ranges[k].hi)
      return BAD("%s: params field %s is %lld (%lld..%lld)", label, int_ranges[k].field, (long long)v,
                 (long long)int_ranges[k].lo, (long long)int_ranges[k].hi);
  }
  if (strstr(kernel, "q_softmax") != NULL || strstr(kernel, "q_log_softmax") != NULL) {
    /* the float path of int8 SOFTMAX / LOG_SOFTMAX converts probabilities (up to 1 / output_scale) and
     * logarithms (up to (255 * input_scale + log(depth)) / output_scale) to int32: finite positive scales, a
     * finite non-negative beta (table entries in [0, 1], sums >= 1) and that bound below 2^30 keep them in range
     * (TFLite's outputs are 1/256 and 16/256) */
    const er_q_softmax_params *p = (const er_q_softmax_params *)op->params;
    const double bs = (double)p->beta * p->input_scale, bound = (255.0 * p->input_scale + 64.0) / p->output_scale;
    if (!(p->beta >= 0.0f && p->input_scale > 0.0f && p->output_scale > 0.0f && bs <= FLT_MAX && bound < 0x1p30))
      return BAD("%s: softmax beta %g, input scale %g, output scale %g (non-negative and finite, scales positive, "
                 "(255 * input scale + 64) / output scale below 2^30)", label, (double)p->beta,
                 (double)p->input_scale, (double)p->output_scale);
  }
  if (strcmp(st->name, "er_index_map_params") == 0) return index_map_table(c, op, block, label);
  if (strcmp(kernel, "f32_conv2d_fast") == 0) return conv_window_offsets(c, op, block, label);
  return 1;
}

/* Arena bytes an op reads and writes: an output either has its own bytes or starts where an input starts (in
 * place: copies, elementwise and the in-place convolutions write over their input from its start); the
 * scratch overlaps none of them. Kernels rely on it (memcpy between them). */
static int arena_range(ctx *c, const er_tensor *t, uint64_t *lo, uint64_t *hi) {
  if (t == NULL || t->bytes == 0) return 0;
  /* compared as integers: a const tensor may point into the caller's buffer, another object */
  uintptr_t p = (uintptr_t)t->data, a = (uintptr_t)c->arena;
  if (p < a || p - a >= c->arena_bytes) return 0;
  *lo = (uint64_t)(p - a);
  *hi = *lo + (uint64_t)t->bytes;
  return 1;
}

static int check_aliasing(ctx *c, const er_op *op, uint32_t in_place, const char *label) {
  uint64_t slo = 0, shi = 0;
  if (op->scratch_bytes > 0) {
    slo = (uint64_t)((const uint8_t *)op->scratch - c->arena);
    shi = slo + (uint64_t)op->scratch_bytes;
  }
  for (int32_t o = 0; o < op->n_out; ++o) {
    uint64_t olo, ohi, ilo, ihi;
    if (!arena_range(c, op->out[o], &olo, &ohi)) continue;
    if (shi > slo && olo < shi && slo < ohi) return BAD("%s: output %d overlaps the op's scratch", label, o);
    for (int32_t i = 0; i < op->n_in; ++i) {
      if (!arena_range(c, op->in[i], &ilo, &ihi)) continue;
      if (shi > slo && ilo < shi && slo < ihi) return BAD("%s: input %d overlaps the op's scratch", label, i);
      if (olo < ihi && ilo < ohi && olo != ilo)
        return BAD("%s: output %d overlaps input %d without starting at it", label, o, i);
      if (olo < ihi && ilo < ohi && (i >= 32 || !(in_place >> i & 1u)))
        return BAD("%s: output %d shares input %d's bytes; kernel %s does not run in place there", label, o, i,
                   er_kernel_name(op->kernel));
    }
  }
  return 1;
}

/* What the kernel dereferences without looking (layout_gen.c's table, found in its source): enough inputs and
 * outputs, a tensor at each required position (not an absent -1) and its params pointers that it never tests
 * against NULL. */
static int kernel_contract(ctx *c, const er_op *op, int32_t entry, int32_t layout, const char *label) {
  const erl_kernel_params *kp = &erl_kernels[entry];
  if (op->n_in < kp->min_in || op->n_out < kp->min_out)
    return BAD("%s: kernel %s reads at least %d input(s) and %d output(s), the plan gives %d and %d", label,
               kp->kernel, kp->min_in, kp->min_out, op->n_in, op->n_out);
  for (int32_t i = 0; i < op->n_in && i < 32; ++i)
    if ((kp->required_in >> i & 1u) && op->in[i] == NULL)
      return BAD("%s: kernel %s needs input %d, the plan gives none (-1)", label, kp->kernel, i);
  for (int32_t i = 0; i < op->n_out && i < 32; ++i)
    if ((kp->required_out >> i & 1u) && op->out[i] == NULL)
      return BAD("%s: kernel %s needs output %d, the plan gives none (-1)", label, kp->kernel, i);
  if (layout < 0) return 1;
  const erl_struct *st = &erl_structs[layout];
  for (const char *name = kp->pointers; *name != 0;) {
    size_t len = strcspn(name, " ");
    for (int32_t f = 0; f < st->n_leaves; ++f) {
      const erl_leaf *leaf = &st->leaves[f];
      if (strncmp(leaf->path, name, len) != 0 || leaf->path[len] != 0) continue;
      const void *p;
      memcpy(&p, (const uint8_t *)op->params + leaf->offset, sizeof p);
      if (p == NULL) return BAD("%s: kernel %s dereferences params field %s, the plan gives NULL", label, kp->kernel,
                                leaf->path);
    }
    name += len;
    while (*name == ' ') ++name;
  }
  return 1;
}

/* -- subplans ------------------------------------------------------------------------------------------ */
static int tensor(ctx *c, cur *r, uint32_t k, uint32_t i, int64_t region_off, int64_t region_bytes, er_tensor *t,
                  uint8_t *has_storage, const char **tensor_name) {
  const char *name;
  int32_t type, storage, ndim, dims[8], quant_dim;
  int64_t offset, bytes, count;
  uint32_t n_scales, n_zps;
  char what[96];
  WHAT(what, "subplan %u tensor %u", k, i);
  if (!string(c, r, &name, what) || !i32(c, r, &type) || !i32(c, r, &storage) || !i64(c, r, &offset) ||
      !i64(c, r, &bytes) || !shape(c, r, &ndim, dims, &count, what) || !i32(c, r, &quant_dim) ||
      !u32(c, r, &n_scales) || !u32(c, r, &n_zps))
    return 0;
  *has_storage = storage != ST_NONE;
  *tensor_name = name;
  WHAT(what, "subplan %u tensor %u '%.40s'", k, i, name);
  if (n_scales > MAX_COUNT || n_zps > MAX_COUNT) return BAD("%s: %u scales, %u zero points", what, n_scales, n_zps);
  uint64_t q_at = r->at;
  if (!need(c, r, (uint64_t)n_scales * 4 + (uint64_t)n_zps * 8)) return 0;
  r->at += (uint64_t)n_scales * 4 + (uint64_t)n_zps * 8;
  uint32_t n_q = n_scales > n_zps ? n_scales : n_zps;
  float *scales = TAKE(c, n_q, float);
  int64_t *zps = TAKE(c, n_q, int64_t);
  if (c->status != EDGERUN_OK) return 0;
  void *data = NULL;
  if (storage == ST_NONE) {
    if (bytes != 0) return BAD("%s: no storage but %lld bytes", what, (long long)bytes);
  } else {
    int64_t size = type_size(type);
    if (size == 0) return BAD("%s: type %d is not supported", what, type);
    if (bytes != count * size) return BAD("%s: %lld bytes for %lld elements of type %d", what, (long long)bytes,
                                          (long long)count, type);
    if (storage == ST_ARENA) {
      if (offset < 0 || offset > region_bytes || bytes > region_bytes - offset)
        return BAD("%s: arena bytes [%lld, +%lld) outside its subplan's region of %lld bytes", what, (long long)offset,
                   (long long)bytes, (long long)region_bytes);
      if ((region_off + offset) % size != 0) return BAD("%s: arena offset %lld misaligned for %lld-byte elements",
                                                      what, (long long)(region_off + offset), (long long)size);
      data = c->fill ? c->arena + region_off + offset : NULL;
      uint64_t end = (uint64_t)(region_off + offset + bytes);
      if (end > c->arena_used) c->arena_used = end;
    } else if (storage == ST_CONST) {
      const uint8_t *p;
      uint64_t cb;
      if (offset < 0 || offset > UINT32_MAX || !const_entry(c, (uint32_t)offset, &p, &cb, what))
        return BAD("%s: const %lld", what, (long long)offset);
      if (cb < (uint64_t)bytes) return BAD("%s: const %lld holds %llu bytes, the tensor %lld", what, (long long)offset,
                                           (unsigned long long)cb, (long long)bytes);
      data = (void *)(uintptr_t)p; /* kernels never write inputs (er_tensor.data is not const) */
    } else if (storage == ST_VARIABLE) {
      if (offset < 0 || offset >= c->n_variables) return BAD("%s: variable %lld of %u", what, (long long)offset,
                                                             c->n_variables);
      if (c->fill) {
        if (c->vars[offset].bytes < (uint64_t)bytes) return BAD("%s: variable %lld holds %zu bytes, the tensor %lld",
                                                                what, (long long)offset, c->vars[offset].bytes,
                                                                (long long)bytes);
        data = c->vars[offset].data;
      }
    } else {
      return BAD("%s: storage %d", what, storage);
    }
  }
  if (n_scales > 1 && (quant_dim < 0 || quant_dim >= (ndim > 0 ? ndim : 1) ||
                       (ndim > 0 && (int64_t)dims[quant_dim] != (int64_t)n_scales)))
    return BAD("%s: %u scales along dimension %d", what, n_scales, quant_dim);
  if (!c->fill) return 1;
  for (uint32_t q = 0; q < n_q; ++q) {
    float s = 0.0f;
    int64_t z = 0;
    if (q < n_scales) memcpy(&s, (const uint32_t[]){le32(c->d + q_at + 4 * (uint64_t)q)}, 4);
    if (q < n_zps) z = as_i64(le64(c->d + q_at + 4 * (uint64_t)n_scales + 8 * (uint64_t)q));
    scales[q] = s;
    zps[q] = z;
  }
  memset(t, 0, sizeof *t);
  t->data = data;
  t->type = type;
  t->ndim = ndim;
  for (int d = 0; d < ndim; ++d) t->dims[d] = dims[d];
  t->count = count;
  t->bytes = bytes;
  if (n_scales > 0) {
    t->scale = scales[0];
    t->zero_point = (int32_t)(zps[0] < INT32_MIN ? INT32_MIN : zps[0] > INT32_MAX ? INT32_MAX : zps[0]);
    t->n_channels = (int32_t)n_scales;
    t->quant_dim = quant_dim;
    t->scales = scales;
    t->zero_points = zps;
  }
  return 1;
}

/* n tensor ids -> pointers (-1 -> NULL when optional is set); each must name a tensor with storage. */
static int tensor_ids(ctx *c, cur *r, uint32_t n, er_tensor *tensors, uint32_t n_tensors, const uint8_t *has_storage,
                      int optional, er_tensor **out, const char *what) {
  for (uint32_t j = 0; j < n; ++j) {
    int32_t id;
    if (!i32(c, r, &id)) return 0;
    if (id == -1 && optional) {
      if (c->fill) out[j] = NULL;
      continue;
    }
    if (id < 0 || (uint32_t)id >= n_tensors) return BAD("%s: tensor id %d of %u", what, id, n_tensors);
    if (c->fill) {
      if (!has_storage[id]) return BAD("%s: tensor %d has no storage", what, id);
      out[j] = &tensors[id];
    }
  }
  return 1;
}

static int subplan(ctx *c, uint32_t k) {
  cur t, r;
  uint64_t off;
  if (!section(c, S_SUBPLANS, 4 + (uint64_t)k * 8, &t) || !u64(c, &t, &off) || !section(c, S_SUBPLANS, off, &r))
    return 0;
  int32_t subgraph;
  uint32_t nt, no, ni, nout, preserve;
  int64_t aoff, abytes;
  if (!i32(c, &r, &subgraph) || !u32(c, &r, &nt) || !u32(c, &r, &no) || !u32(c, &r, &ni) || !u32(c, &r, &nout) ||
      !u32(c, &r, &preserve) || !i64(c, &r, &aoff) || !i64(c, &r, &abytes))
    return 0;
  if (aoff < 0 || abytes < 0 || (uint64_t)aoff > c->arena_bytes || (uint64_t)abytes > c->arena_bytes - (uint64_t)aoff)
    return BAD("subplan %u: arena region [%lld, +%lld) outside the arena (%llu bytes)", k, (long long)aoff,
               (long long)abytes, (unsigned long long)c->arena_bytes);
  /* counts bounded by the bytes their records take */
  if (!need(c, &r, ((uint64_t)ni + nout) * 4 + (uint64_t)nt * TENSOR_FIXED + (uint64_t)no * OP_FIXED))
    return BAD("subplan %u: %u tensors, %u ops, %u inputs, %u outputs do not fit the section", k, nt, no, ni, nout);
  uint64_t io_at = r.at;
  r.at += ((uint64_t)ni + nout) * 4;
  er_tensor *tensors = TAKE(c, nt > 0 ? nt : 1, er_tensor);
  uint8_t *has_storage = TAKE(c, nt > 0 ? nt : 1, uint8_t);
  er_tensor **pin = TAKE(c, ni > 0 ? ni : 1, er_tensor *), **pout = TAKE(c, nout > 0 ? nout : 1, er_tensor *);
  er_op *ops = TAKE(c, no > 0 ? no : 1, er_op);
  er_rt_op_info *infos = TAKE(c, no > 0 ? no : 1, er_rt_op_info);
  const char **names = TAKE(c, nt > 0 ? nt : 1, const char *);
  if (c->status != EDGERUN_OK) return 0;
  for (uint32_t i = 0; i < nt; ++i) {
    er_tensor unused;
    uint8_t has;
    const char *name;
    if (!tensor(c, &r, k, i, aoff, abytes, c->fill ? &tensors[i] : &unused, &has, &name)) return 0;
    if (c->fill) {
      has_storage[i] = has;
      names[i] = name;
    }
  }
  cur io = r;
  io.at = io_at;
  char what[96];
  WHAT(what, "subplan %u inputs", k);
  if (!tensor_ids(c, &io, ni, tensors, nt, has_storage, 0, pin, what)) return 0;
  WHAT(what, "subplan %u outputs", k);
  if (!tensor_ids(c, &io, nout, tensors, nt, has_storage, 0, pout, what)) return 0;
  for (uint32_t j = 0; j < no; ++j) {
    uint32_t kernel, n_in, n_out;
    int32_t index, block;
    const char *op_name;
    int64_t soff, sbytes;
    WHAT(what, "subplan %u op record %u", k, j);
    if (!u32(c, &r, &kernel) || !i32(c, &r, &index) || !string(c, &r, &op_name, what) || !u32(c, &r, &n_in) ||
        !u32(c, &r, &n_out) || !i64(c, &r, &soff) || !i64(c, &r, &sbytes) || !i32(c, &r, &block))
      return 0;
    WHAT(what, "subplan %u op #%d %.32s", k, index, op_name);
    if (kernel >= c->n_kernels) return BAD("%s: kernel %u of %u", what, kernel, c->n_kernels);
    if (!need(c, &r, ((uint64_t)n_in + n_out) * 4)) return BAD("%s: %u inputs and %u outputs", what, n_in, n_out);
    er_tensor **in = TAKE(c, n_in > 0 ? n_in : 1, er_tensor *), **out = TAKE(c, n_out > 0 ? n_out : 1, er_tensor *);
    if (c->status != EDGERUN_OK) return 0;
    if (!tensor_ids(c, &r, n_in, tensors, nt, has_storage, 1, in, what) ||
        !tensor_ids(c, &r, n_out, tensors, nt, has_storage, 1, out, what))
      return 0;
    if (sbytes < 0 || (sbytes > 0 && (soff < 0 || soff > abytes || sbytes > abytes - soff)))
      return BAD("%s: scratch [%lld, +%lld) outside its subplan's region of %lld bytes", what, (long long)soff,
                 (long long)sbytes, (long long)abytes);
    if (sbytes > 0 && (aoff + soff) % 16 != 0) return BAD("%s: scratch offset %lld is not 16-byte aligned", what,
                                                         (long long)(aoff + soff));
    if (sbytes > 0 && (uint64_t)(aoff + soff + sbytes) > c->arena_used)
      c->arena_used = (uint64_t)(aoff + soff + sbytes);
    if (block < -1 || (block >= 0 && (uint32_t)block >= c->n_params))
      return BAD("%s: params block %d of %u", what, block, c->n_params);
    if (!c->fill) continue;
    const char *kname = er_kernel_name(c->kernel_ids[kernel]);
    int32_t expected = c->kernel_struct[kernel];
    int32_t got = block >= 0 ? c->params_struct[block] : -1;
    if (expected != got)
      return BAD("%s: kernel %s reads %s, the plan gives %s", what, kname,
                 expected >= 0 ? erl_structs[expected].name : "no params", got >= 0 ? erl_structs[got].name : "none");
    er_op *op = &ops[j];
    op->kernel = c->kernel_ids[kernel];
    op->index = index;
    op->n_in = (int32_t)n_in;
    op->n_out = (int32_t)n_out;
    op->in = in;
    op->out = out;
    op->params = block >= 0 ? c->params[block] : NULL;
    op->scratch = sbytes > 0 ? c->arena + aoff + soff : NULL;
    op->scratch_bytes = sbytes;
    infos[j] = (er_rt_op_info){index, op_name, kname, block, 0, 0};
    if (!kernel_contract(c, op, c->kernel_entry[kernel], got, what)) return 0;
    if (block >= 0 && (!implied_lengths(c, op, block, what) || !params_numbers(c, op, block, kname, what))) return 0;
    if (!check_aliasing(c, op, erl_kernels[c->kernel_entry[kernel]].in_place, what)) return 0;
  }
  if (c->fill) {
    c->plans[k] = (er_plan){(int32_t)no, ops, (int32_t)ni, (int32_t)nout, pin, pout};
    c->op_infos[k] = infos;
    if (k == 0) {
      c->tensors0 = tensors;
      c->names0 = names;
      c->n_tensors0 = nt;
    }
  }
  (void)subgraph;
  (void)preserve;
  return 1;
}

/* Control flow nests and never recurses: the longest chain of subplan pointers stays below the count. */
static int acyclic(ctx *c) {
  uint32_t n = c->n_subplans;
  int32_t depth[MAX_SUBPLANS];
  for (uint32_t k = 0; k < n; ++k) depth[k] = 0;
  for (uint32_t round = 0; round <= n; ++round) {
    int changed = 0;
    for (uint32_t k = 0; k < n; ++k) {
      for (int32_t j = 0; j < c->plans[k].n_ops; ++j) {
        int32_t block = c->op_infos[k][j].params;
        if (block < 0) continue;
        const erl_struct *st = &erl_structs[c->params_struct[block]];
        for (int32_t f = 0; f < st->n_leaves; ++f) {
          if (st->leaves[f].kind != ERL_PLAN) continue;
          const er_plan *p;
          memcpy(&p, (const uint8_t *)c->params[block] + st->leaves[f].offset, sizeof p);
          if (p == NULL) continue;
          uint32_t to = (uint32_t)(p - c->plans);
          if (depth[to] < depth[k] + 1) {
            depth[to] = depth[k] + 1;
            changed = 1;
            if ((uint32_t)depth[to] >= n)
              return BAD("subplan %u: control flow recurses (subplan %u runs itself through op #%d)", k, to,
                         c->op_infos[k][j].index);
          }
        }
      }
    }
    if (!changed) return 1;
  }
  return BAD("control flow recurses");
}

/* -- the two passes ------------------------------------------------------------------------------------ */
static int walk(ctx *c, int copy_file) {
  char target[16], kernel_set[16];
  if (!header(c, target, kernel_set)) return 0;
  if (copy_file) take(c, c->n, 1, 64);  /* the file's copy first, at the block's aligned start */
  edgerun_model *m = TAKE(c, 1, edgerun_model);
  c->model = m;
  cur r;
  if (!section(c, S_SUBPLANS, 0, &r) || !u32(c, &r, &c->n_subplans)) return 0;
  if (c->n_subplans < 1 || c->n_subplans > MAX_SUBPLANS) return BAD("subplans: count %u (1..%u)", c->n_subplans,
                                                                   MAX_SUBPLANS);
  if (!need(c, &r, (uint64_t)c->n_subplans * 8)) return 0;
  c->plans = TAKE(c, c->n_subplans, er_plan);
  c->op_infos = TAKE(c, c->n_subplans, er_rt_op_info *);
  if (!kernels(c) || !structs(c) || !consts(c) || !variables(c)) return 0;
  c->arena = take(c, c->arena_bytes > 0 ? c->arena_bytes : 1, 1, c->alignment);
  if (!params(c)) return 0;
  for (uint32_t k = 0; k < c->n_subplans; ++k)
    if (!subplan(c, k)) return 0;
  /* the arena is what its tensors and scratch use, up to its alignment: a header asking for more would have the
   * library allocate and clear memory nothing uses (measured in this pass, before anything is allocated) */
  uint64_t used = (c->arena_used + c->alignment - 1) / c->alignment * c->alignment;
  if (c->arena_bytes > used)
    return BAD("header: arena of %llu bytes, but its tensors and scratch use %llu", (unsigned long long)c->arena_bytes,
               (unsigned long long)used);
  /* inputs and outputs of the main graph */
  cur t, s;
  uint64_t off;
  uint32_t ni, nout;
  if (!section(c, S_SUBPLANS, 4, &t) || !u64(c, &t, &off) || !section(c, S_SUBPLANS, off + 12, &s) ||
      !u32(c, &s, &ni) || !u32(c, &s, &nout))
    return 0;
  edgerun_tensor_info *io = TAKE(c, ni + nout > 0 ? ni + nout : 1, edgerun_tensor_info);
  er_tensor **io_tensors = TAKE(c, ni + nout > 0 ? ni + nout : 1, er_tensor *);
  if (c->status != EDGERUN_OK || !c->fill) return c->status == EDGERUN_OK;
  if (!acyclic(c)) return 0;
  memset(m, 0, sizeof *m);
  memcpy(m->target, target, 16);
  memcpy(m->kernel_set, kernel_set, 16);
  m->arena = c->arena;
  m->arena_bytes = (size_t)c->arena_bytes;
  m->n_subplans = (int32_t)c->n_subplans;
  m->plans = c->plans;
  m->ops0 = c->op_infos[0];
  m->n_variables = (int32_t)c->n_variables;
  m->variables = c->vars;
  m->n_inputs = (int32_t)ni;
  m->n_outputs = (int32_t)nout;
  m->io = io;
  m->io_tensors = io_tensors;
  m->threads = 1;
  m->tensors0 = c->tensors0;
  m->n_tensors0 = (int32_t)c->n_tensors0;
  for (uint32_t j = 0; j < ni + nout; ++j) {
    er_tensor *tt = j < ni ? c->plans[0].inputs[j] : c->plans[0].outputs[j - ni];
    m->io_tensors[j] = tt;
    edgerun_tensor_info *info = &io[j];
    memset(info, 0, sizeof *info);
    info->name = c->names0[tt - c->tensors0];
    info->type = tt->type;
    info->ndim = tt->ndim;
    for (int d = 0; d < tt->ndim; ++d) info->dims[d] = tt->dims[d];
    info->scale = tt->scale;
    info->zero_point = tt->zero_point;
    info->bytes = (size_t)tt->bytes;
  }
  return 1;
}

edgerun_status er_rt_load(const uint8_t *data, size_t size, int flags, void *owned, edgerun_model **out, char *err,
                          size_t err_size) {
  const int borrow = (flags & ER_RT_BORROW) != 0;
  *out = NULL;
  ctx c;
  memset(&c, 0, sizeof c);
  c.d = data;
  c.n = size;
  c.err = err;
  c.err_size = err_size;
  c.status = EDGERUN_OK;
  c.no_checksum = (flags & ER_RT_NO_CHECKSUM) != 0;
  c.quiet = (flags & ER_RT_QUIET) != 0 && owned == NULL;
  const int copy_file = !borrow;
  if (borrow && ((uintptr_t)data % 16) != 0) {
    fail(&c, EDGERUN_ERROR_ARGUMENT, "borrowed plan memory must be 16-byte aligned (constants are used in place)");
    return c.status;
  }
  {
    uint16_t probe = 1;
    uint8_t low;
    memcpy(&low, &probe, 1);
    if (low != 1) {
      fail(&c, EDGERUN_ERROR_INCOMPATIBLE, "plan files hold little-endian data; this CPU is big-endian");
      return c.status;
    }
  }
  if (!walk(&c, copy_file)) {
    free(owned);
    if (c.quiet) return er_rt_load(data, size, flags & ~ER_RT_QUIET, NULL, out, err, err_size);  /* the message */
    return c.status;
  }
  uint64_t need_bytes = c.used;
  uint64_t slack = c.alignment > 64 ? c.alignment : 64;
  if (need_bytes + slack > SIZE_MAX) {
    free(owned);
    fail(&c, EDGERUN_ERROR_MEMORY, "the model needs %llu bytes, more than this address space",
         (unsigned long long)need_bytes);
    return c.status;
  }
  void *block;
  if (owned != NULL) {
    block = realloc(owned, (size_t)(need_bytes + slack));
    if (block == NULL) free(owned);
  } else {
    block = calloc(1, (size_t)(need_bytes + slack));  /* zeroed (fresh pages need no clearing: the arena of a
                                                         * big model is not touched until it runs) */
  }
  if (block == NULL) {
    fail(&c, EDGERUN_ERROR_MEMORY, "cannot allocate the model's %llu bytes", (unsigned long long)(need_bytes + slack));
    return c.status;
  }
  uint8_t *base = (uint8_t *)block + ((slack - (uintptr_t)block % slack) % slack);
  if (copy_file) memmove(base, owned != NULL ? block : data, size);  /* the file's copy at offset 0 */
  if (owned != NULL) memset(base + size, 0, (size_t)(need_bytes - size));  /* realloc'd: not zeroed */
  ctx f;
  memset(&f, 0, sizeof f);
  f.d = copy_file ? base : data;
  f.n = size;
  f.fill = 1;
  f.base = base;
  f.capacity = need_bytes;
  f.err = err;
  f.err_size = err_size;
  f.status = EDGERUN_OK;
  f.quiet = c.quiet;
  if (!walk(&f, copy_file)) {
    free(block);
    if (f.quiet) return er_rt_load(data, size, flags & ~ER_RT_QUIET, NULL, out, err, err_size);
    return f.status;
  }
  f.model->block = block;
  f.model->block_bytes = (size_t)(need_bytes + slack);
  *out = f.model;
  return EDGERUN_OK;
}

/* Embedding and hashing ops TFLite keeps for older text models: EMBEDDING_LOOKUP_SPARSE (weighted sums of
 * embedding rows per sparse bucket) and LSH_PROJECTION (signs of seeded farmhash fingerprints). Both follow
 * TFLite's reference arithmetic step for step: float accumulation in its order, the fingerprint as a double. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"

/* a * b for non-negative counts, -1 when negative or past int64 (plans carry counts from files) */
static int64_t cmul(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return -1;
  return a * b;
}

/* ---- EMBEDDING_LOOKUP_SPARSE --------------------------------------------------------------------------- */

static void finish_bucket(int32_t combiner, int64_t n, float total, float squares, int64_t size, float *out) {
  if (combiner == ER_COMBINER_SUM || n == 0) return;
  const float m = combiner == ER_COMBINER_MEAN ? total : sqrtf(squares);
  for (int64_t k = 0; k < size; ++k) out[k] /= m;
}

int er_f32_embedding_lookup_sparse(const er_op *op) {
  const er_embedding_sparse_params *p = (const er_embedding_sparse_params *)op->params;
  if (op->n_in < 5 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->in[2] || !op->in[3] || !op->in[4] ||
      !op->out[0])
    return ER_ERR_PARAMS;
  const er_tensor *ids = op->in[0], *idx = op->in[1], *dense = op->in[2], *w = op->in[3], *val = op->in[4];
  er_tensor *y = op->out[0];
  const int64_t n = p->lookups, rank = p->lookup_rank, size = p->embedding_size;
  if (n < 0 || rank < 1 || size < 0 || p->rows < 0 || p->buckets < 0 || p->combiner < 0 || p->combiner > 2)
    return ER_ERR_PARAMS;
  if (ids->type != ER_INT32 || idx->type != ER_INT32 || dense->type != ER_INT32 || w->type != ER_FLOAT32 ||
      val->type != ER_FLOAT32 || y->type != ER_FLOAT32)
    return ER_ERR_UNSUPPORTED;
  if (ids->count != n || w->count != n || idx->count != cmul(n, rank) || dense->count != rank ||
      val->count != cmul(p->rows, size) || y->count != cmul(p->buckets, size))
    return ER_ERR_SHAPE;
  const int32_t *id = (const int32_t *)ids->data, *ix = (const int32_t *)idx->data,
                *ds = (const int32_t *)dense->data;
  const float *wd = (const float *)w->data, *vd = (const float *)val->data;
  float *out = (float *)y->data;
  for (int64_t k = 0; k < y->count; ++k) out[k] = 0.0f;
  int64_t cur = 0, count = 0;
  float total = 0.0f, squares = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t row = id[i];
    if (row < 0 || row >= p->rows) return ER_ERR_INDEX;
    uint64_t bucket = 0, stride = 1; /* wraps instead of overflowing on hostile values; checked below */
    for (int64_t k = rank - 2; k >= 0; --k) {
      bucket += (uint64_t)(int64_t)ix[i * rank + k] * stride;
      stride *= (uint64_t)(int64_t)ds[k];
    }
    /* TFLite checks none of this; a bucket outside the output would write past it */
    if (bucket >= (uint64_t)p->buckets) return ER_ERR_INDEX;
    const int64_t off = (int64_t)bucket * size;
    if (off != cur) {
      finish_bucket(p->combiner, count, total, squares, size, out + cur);
      count = 0;
      total = squares = 0.0f;
      cur = off;
    }
    ++count;
    const float wi = wd[i];
    squares += wi * wi;
    total += wi;
    const float *v = vd + (int64_t)row * size;
    for (int64_t k = 0; k < size; ++k) out[cur + k] += v[k] * wi;
  }
  if (p->buckets > 0) finish_bucket(p->combiner, count, total, squares, size, out + cur);
  return ER_OK;
}

/* ---- LSH_PROJECTION: farmhash Fingerprint64 (farmhashna::Hash64) ----------------------------------------- */

static const uint64_t K0 = 0xc3a5c85c97cb3127ULL, K1 = 0xb492b66fbe98f273ULL, K2 = 0x9ae16a3b2f90404fULL;

static uint64_t fetch64(const uint8_t *s) {
  uint64_t v;
  memcpy(&v, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static uint32_t fetch32(const uint8_t *s) {
  uint32_t v;
  memcpy(&v, s, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

static uint64_t rot(uint64_t v, int s) { return s == 0 ? v : (v >> s) | (v << (64 - s)); }
static uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

static uint64_t len16(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = (u ^ v) * mul;
  a ^= a >> 47;
  uint64_t b = (v ^ a) * mul;
  b ^= b >> 47;
  return b * mul;
}

static uint64_t len0to16(const uint8_t *s, uint64_t len) {
  if (len >= 8) {
    const uint64_t mul = K2 + len * 2, a = fetch64(s) + K2, b = fetch64(s + len - 8);
    const uint64_t c = rot(b, 37) * mul + a, d = (rot(a, 25) + b) * mul;
    return len16(c, d, mul);
  }
  if (len >= 4) {
    const uint64_t mul = K2 + len * 2, a = fetch32(s);
    return len16(len + (a << 3), fetch32(s + len - 4), mul);
  }
  if (len > 0) {
    const uint8_t a = s[0], b = s[len >> 1], c = s[len - 1];
    const uint32_t y = (uint32_t)a + ((uint32_t)b << 8), z = (uint32_t)len + ((uint32_t)c << 2);
    return shift_mix(y * K2 ^ z * K0) * K2;
  }
  return K2;
}

static uint64_t len17to32(const uint8_t *s, uint64_t len) {
  const uint64_t mul = K2 + len * 2, a = fetch64(s) * K1, b = fetch64(s + 8), c = fetch64(s + len - 8) * mul,
                 d = fetch64(s + len - 16) * K2;
  return len16(rot(a + b, 43) + rot(c, 30) + d, a + rot(b + K2, 18) + c, mul);
}

static uint64_t len33to64(const uint8_t *s, uint64_t len) {
  const uint64_t mul = K2 + len * 2, a = fetch64(s) * K2, b = fetch64(s + 8), c = fetch64(s + len - 8) * mul,
                 d = fetch64(s + len - 16) * K2;
  const uint64_t y = rot(a + b, 43) + rot(c, 30) + d, z = len16(y, a + rot(b + K2, 18) + c, mul);
  const uint64_t e = fetch64(s + 16) * mul, f = fetch64(s + 24), g = (y + fetch64(s + len - 32)) * mul,
                 h = (z + fetch64(s + len - 24)) * mul;
  return len16(rot(e + f, 43) + rot(g, 30) + h, e + rot(f + a, 18) + g, mul);
}

typedef struct {
  uint64_t first, second;
} pair64;

static pair64 weak32(const uint8_t *s, uint64_t a, uint64_t b) {
  const uint64_t w = fetch64(s), x = fetch64(s + 8), y = fetch64(s + 16), z = fetch64(s + 24);
  a += w;
  b = rot(b + a + z, 21);
  const uint64_t c = a;
  a += x;
  a += y;
  b += rot(a, 44);
  return (pair64){a + z, b + c};
}

static uint64_t fingerprint64(const uint8_t *s, uint64_t len) {
  if (len <= 16) return len0to16(s, len);
  if (len <= 32) return len17to32(s, len);
  if (len <= 64) return len33to64(s, len);
  const uint64_t seed = 81;
  uint64_t x = seed, y = seed * K1 + 113, z = shift_mix(y * K2 + 113) * K2;
  pair64 v = {0, 0}, w = {0, 0};
  x = x * K2 + fetch64(s);
  const uint8_t *end = s + ((len - 1) / 64) * 64, *last64 = end + ((len - 1) & 63) - 63;
  do {
    x = rot(x + y + v.first + fetch64(s + 8), 37) * K1;
    y = rot(y + v.second + fetch64(s + 48), 42) * K1;
    x ^= w.second;
    y += v.first + fetch64(s + 40);
    z = rot(z + w.first, 33) * K1;
    v = weak32(s, v.second * K1, x + w.first);
    w = weak32(s + 32, z + w.second, y + fetch64(s + 16));
    const uint64_t t = z;
    z = x;
    x = t;
    s += 64;
  } while (s != end);
  const uint64_t mul = K1 + ((z & 0xff) << 1);
  s = last64;
  w.first += (len - 1) & 63;
  v.first += w.first;
  w.first += v.first;
  x = rot(x + y + v.first + fetch64(s + 8), 37) * mul;
  y = rot(y + v.second + fetch64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + fetch64(s + 40);
  z = rot(z + w.first, 33) * mul;
  v = weak32(s, v.second * mul, x + w.first);
  w = weak32(s + 32, z + w.second, y + fetch64(s + 16));
  const uint64_t t = z;
  z = x;
  x = t;
  return len16(len16(v.first, w.first, mul) + shift_mix(y) * K0 + z, len16(v.second, w.second, mul) + x, mul);
}

/* 1 when sum over items of weight * (double)(int64)Fingerprint64(seed ++ item) is positive. */
static int sign_bit(const uint8_t *in, const float *weight, int64_t items, int64_t item_bytes, float seed,
                    uint8_t *key) {
  double score = 0.0;
  memcpy(key, &seed, 4);
  for (int64_t i = 0; i < items; ++i) {
    if (item_bytes) memcpy(key + 4, in + i * item_bytes, (size_t)item_bytes);
    const double h = (double)(int64_t)fingerprint64(key, (uint64_t)(4 + item_bytes));
    score += weight ? (double)weight[i] * h : h;
  }
  return score > 0 ? 1 : 0;
}

int er_i32_lsh_projection(const er_op *op) {
  const er_lsh_params *p = (const er_lsh_params *)op->params;
  if (op->n_in < 2 || op->n_out < 1 || !op->in[0] || !op->in[1] || !op->out[0]) return ER_ERR_PARAMS;
  const er_tensor *hash = op->in[0], *x = op->in[1], *w = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  const int64_t nh = p->num_hash, nb = p->num_bits, items = p->items, ib = p->item_bytes;
  if (nh < 0 || nh > INT32_MAX || nb < 0 || nb > 32 || items < 0 || ib < 0 || ib > INT64_MAX - 4)
    return ER_ERR_PARAMS;
  if (hash->type != ER_FLOAT32 || y->type != ER_INT32 || (w && w->type != ER_FLOAT32)) return ER_ERR_UNSUPPORTED;
  if (hash->count != nh * nb || x->bytes != cmul(items, ib) || (w && w->count != items) ||
      y->count != (p->sparse ? nh : nh * nb) || op->scratch_bytes < 4 + ib || !op->scratch)
    return ER_ERR_SHAPE;
  const float *seeds = (const float *)hash->data, *wd = w ? (const float *)w->data : NULL;
  const uint8_t *in = (const uint8_t *)x->data;
  uint8_t *key = (uint8_t *)op->scratch;
  int32_t *out = (int32_t *)y->data;
  for (int64_t i = 0; i < nh; ++i) {
    uint32_t sig = 0;
    for (int64_t j = 0; j < nb; ++j) {
      const int bit = sign_bit(in, wd, items, ib, seeds[i * nb + j], key);
      if (p->sparse)
        sig = (sig << 1) | (uint32_t)bit;
      else
        out[i * nb + j] = bit;
    }
    /* TFLite adds i * (1 << num_bits) in int: 32 bits shift by 0 on the CPUs it runs on (count masked) */
    if (p->sparse) out[i] = (int32_t)(sig + (uint32_t)i * (1u << (nb & 31)));
  }
  return ER_OK;
}

/* ---- HASHTABLE_LOOKUP: binary search of int32 keys, as TFLite's bsearch over the sorted key tensor ---------- */

int er_any_hashtable_lookup(const er_op *op) {
  const er_hashtable_lookup_params *p = (const er_hashtable_lookup_params *)op->params;
  if (op->n_in < 3 || op->n_out < 2 || !op->in[0] || !op->in[1] || !op->in[2] || !op->out[0] || !op->out[1])
    return ER_ERR_PARAMS;
  const er_tensor *look = op->in[0], *keys = op->in[1], *vals = op->in[2];
  er_tensor *y = op->out[0], *hits = op->out[1];
  const int64_t n = look->count, k = keys->count, rb = p->row_bytes;
  if (look->type != ER_INT32 || keys->type != ER_INT32 || hits->type != ER_UINT8 || y->type != vals->type)
    return ER_ERR_UNSUPPORTED;
  if (rb < 0 || vals->bytes != cmul(k, rb) || y->bytes != cmul(n, rb) || hits->count != n) return ER_ERR_SHAPE;
  const int32_t *l = (const int32_t *)look->data, *kd = (const int32_t *)keys->data;
  const uint8_t *v = (const uint8_t *)vals->data;
  uint8_t *out = (uint8_t *)y->data, *h = (uint8_t *)hits->data;
  for (int64_t i = 0; i < n; ++i) {
    int64_t lo = 0, hi = k, found = -1;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (kd[mid] == l[i]) {
        found = mid;
        break;
      }
      if (kd[mid] < l[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    if (rb) {
      if (found >= 0)
        memcpy(out + i * rb, v + found * rb, (size_t)rb);
      else
        memset(out + i * rb, 0, (size_t)rb);
    }
    h[i] = found >= 0;
  }
  return ER_OK;
}

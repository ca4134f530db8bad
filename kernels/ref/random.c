/* RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL and MULTINOMIAL as TFLite draws them, STABLEHLO_RNG_BIT_GENERATOR
 * (Philox-4x32-10 or Threefry-2x32-20) and FAKE_QUANT.
 *
 * The stream is Philox-4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11): a 128-bit counter encrypted under the 64-bit seed by ten rounds, four 32-bit words per block. Floats
 * take 23 random mantissa bits (a float in [1, 2) minus 1), doubles 52 bits of two words, normals the
 * Box-Muller transform of two such floats in float32 - the conversions TensorFlow documents for its random
 * ops. The number of blocks drawn is a plan variable, so invokes continue the stream. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* the key's increments per round (golden ratio, sqrt(3) - 1) */
#define PHILOX_W1 0xBB67AE85u

/* The block of counter c under key (k0, k1). */
static void philox_block(uint32_t k0, uint32_t k1, const uint32_t c[4], uint32_t out[4]) {
  uint32_t x0 = c[0], x1 = c[1], x2 = c[2], x3 = c[3];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = (uint64_t)PHILOX_M0 * x0, p1 = (uint64_t)PHILOX_M1 * x2;
    const uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0, y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
    x0 = y0;
    x1 = (uint32_t)p1;
    x2 = y2;
    x3 = (uint32_t)p0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/* counter += n, as one 128-bit number */
static void philox_skip(uint32_t c[4], uint64_t n) {
  uint64_t carry = n;
  for (int i = 0; i < 4 && carry; ++i) {
    const uint64_t sum = (uint64_t)c[i] + (carry & 0xFFFFFFFFu);
    c[i] = (uint32_t)sum;
    carry = (carry >> 32) + (sum >> 32);
  }
}

static void philox_next(uint32_t k0, uint32_t k1, uint32_t c[4], uint32_t out[4]) {
  philox_block(k0, k1, c, out);
  philox_skip(c, 1);
}

/* The op's next counter: start + the blocks drawn so far (128-bit). */
static void philox_counter(const er_random_params *p, uint32_t c[4]) {
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t sum = (uint64_t)p->start[i] + p->state->blocks[i] + carry;
    c[i] = (uint32_t)sum;
    carry = sum >> 32;
  }
}

/* [0, 1): the word's low 23 bits as the mantissa of a float in [1, 2), minus 1 */
static float u32_to_float(uint32_t x) {
  const uint32_t bits = (x & 0x7FFFFFu) | 0x3F800000u;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f - 1.0f;
}

/* [0, 1): 20 bits of hi and the 32 of lo as the mantissa of a double in [1, 2), minus 1 */
static double u64_to_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = ((uint64_t)1023 << 52) | ((uint64_t)(hi & 0xFFFFFu) << 32) | lo;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d - 1.0;
}

/* Two standard normals from two words, in float32 (the angle rounded to float from double 2 pi u) */
static void box_muller(uint32_t w0, uint32_t w1, float *f0, float *f1) {
  float u1 = u32_to_float(w0);
  if (u1 < 1.0e-7f) u1 = 1.0e-7f;
  const float angle = (float)(2.0 * 3.14159265358979323846 * (double)u32_to_float(w1));
  const float radius = sqrtf(-2.0f * logf(u1));
  *f0 = sinf(angle) * radius;
  *f1 = cosf(angle) * radius;
}

static int random_fill(const er_op *op, int normal) {
  const er_random_params *p = (const er_random_params *)op->params;
  if (p == NULL || p->state == NULL || op->n_out < 1 || op->out[0] == NULL) return ER_ERR_PARAMS;
  er_tensor *y = op->out[0];
  if (y->type != ER_FLOAT32) return ER_ERR_UNSUPPORTED;
  if (y->count > 0 && y->data == NULL) return ER_ERR_PARAMS;
  float *yd = (float *)y->data;
  uint32_t c[4];
  philox_counter(p, c);
  for (int64_t i = 0; i < y->count; i += 4) {
    uint32_t w[4];
    float v[4];
    philox_next(p->key[0], p->key[1], c, w);
    if (normal) {
      box_muller(w[0], w[1], &v[0], &v[1]);
      box_muller(w[2], w[3], &v[2], &v[3]);
    } else {
      for (int j = 0; j < 4; ++j) v[j] = u32_to_float(w[j]);
    }
    const int64_t n = y->count - i < 4 ? y->count - i : 4;
    for (int64_t j = 0; j < n; ++j) yd[i + j] = v[j];
  }
  philox_skip(p->state->blocks, (uint64_t)(y->count / 4 + (y->count % 4 != 0)));
  return ER_OK;
}

int er_f32_random_uniform(const er_op *op) { return random_fill(op, 0); }

int er_f32_random_normal(const er_op *op) { return random_fill(op, 1); }

/* MULTINOMIAL: per row, the cumulative sums (double) of exp(logit - the row's largest finite logit) over the
 * finite logits; each sample is the first class whose sum exceeds u * total, u a double from the stream (two
 * per block, the rows one after another). A row without a finite logit gives `classes`, as LiteRT does. The
 * op's counter then moves on by batch * ceil4(num_samples) * 512 blocks, whatever was drawn (TFLite keeps
 * TensorFlow's reservation). Scratch: classes doubles. */
int er_f32_multinomial(const er_op *op) {
  const er_random_params *p = (const er_random_params *)op->params;
  if (p == NULL || p->state == NULL || op->n_in < 2 || op->n_out < 1 || op->in[0] == NULL || op->in[1] == NULL ||
      op->out[0] == NULL)
    return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0], *ns = op->in[1];
  er_tensor *y = op->out[0];
  if (x->type != ER_FLOAT32 || x->ndim != 2 || ns->type != ER_INT32 || ns->count != 1 || ns->data == NULL ||
      (y->type != ER_INT32 && y->type != ER_INT64) || y->ndim != 2)
    return ER_ERR_SHAPE;
  int32_t samples;
  memcpy(&samples, ns->data, sizeof samples);
  const int64_t batch = x->dims[0], classes = x->dims[1];
  if (samples < 0 || classes <= 0 || y->dims[0] != batch || y->dims[1] != samples) return ER_ERR_SHAPE;
  if (op->scratch_bytes < classes * (int64_t)sizeof(double) || op->scratch == NULL) return ER_ERR_PARAMS;
  if ((batch * samples > 0 && y->data == NULL) || (x->count > 0 && x->data == NULL)) return ER_ERR_PARAMS;
  double *cdf = (double *)op->scratch;
  uint32_t c[4], w[4];
  philox_counter(p, c);
  philox_skip(p->state->blocks, (uint64_t)batch * (((uint64_t)samples + 3) / 4 * 4) * 2 * 256);
  int used = 4;
  for (int64_t b = 0; b < batch; ++b) {
    const float *row = (const float *)x->data + b * classes;
    float largest = -3.40282347e+38f;
    for (int64_t i = 0; i < classes; ++i)
      if (isfinite(row[i]) && largest < row[i]) largest = row[i];
    double total = 0.0;
    for (int64_t i = 0; i < classes; ++i) {
      if (isfinite(row[i])) total += exp((double)row[i] - (double)largest);
      cdf[i] = total;
    }
    for (int64_t j = 0; j < samples; ++j) {
      if (used == 4) {
        philox_next(p->key[0], p->key[1], c, w);
        used = 0;
      }
      const double target = u64_to_double(w[used], w[used + 1]) * total;
      used += 2;
      int64_t lo = 0, hi = classes; /* the first i with cdf[i] > target */
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > target)
          hi = mid;
        else
          lo = mid + 1;
      }
      if (y->type == ER_INT32)
        ((int32_t *)y->data)[b * samples + j] = (int32_t)lo;
      else
        ((int64_t *)y->data)[b * samples + j] = lo;
    }
  }
  return ER_OK;
}

/* Threefry-2x32 with 20 rounds (the same paper, section 4.2): the key schedule is the two key words and their
 * xor with the parity constant 0x1BD11BDA; five groups of four rounds (x0 += x1, x1 = rotl(x1, r) ^ x0, the
 * rotations 13 15 26 6, then 17 29 16 24, alternating), each group followed by the injection of the next two
 * schedule words, the second plus the group's number. */
static void threefry_block(uint32_t k0, uint32_t k1, const uint32_t c[2], uint32_t out[2]) {
  static const int rot[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  const uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
  uint32_t x0 = c[0] + ks[0], x1 = c[1] + ks[1];
  for (int g = 1; g <= 5; ++g) {
    const int *r = rot[(g - 1) & 1];
    for (int j = 0; j < 4; ++j) {
      x0 += x1;
      x1 = (x1 << r[j]) | (x1 >> (32 - r[j]));
      x1 ^= x0;
    }
    x0 += ks[g % 3];
    x1 += ks[(g + 1) % 3] + (uint32_t)g;
  }
  out[0] = x0;
  out[1] = x1;
}

static uint64_t load_u64(const void *base, int64_t i) {
  uint64_t v;
  memcpy(&v, (const unsigned char *)base + i * 8, 8);
  return v;
}

static void store_u64(void *base, int64_t i, uint64_t v) { memcpy((unsigned char *)base + i * 8, &v, 8); }

/* STABLEHLO_RNG_BIT_GENERATOR as LiteRT's kernel computes it (see er_rng_bit_params). The words are taken from
 * and put into the 64-bit values arithmetically (low word first), which is LiteRT's reading of the memory on
 * its little-endian hosts, on any host. The state is read whole before anything is written. */
int er_any_rng_bit_generator(const er_op *op) {
  const er_rng_bit_params *p = (const er_rng_bit_params *)op->params;
  if (p == NULL || op->n_in < 1 || op->n_out < 2 || op->in[0] == NULL || op->out[0] == NULL || op->out[1] == NULL)
    return ER_ERR_PARAMS;
  const er_tensor *state = op->in[0];
  er_tensor *next = op->out[0], *bits = op->out[1];
  const int threefry = p->algorithm == ER_RNG_THREEFRY;
  if (!threefry && p->algorithm != ER_RNG_PHILOX && p->algorithm != ER_RNG_DEFAULT) return ER_ERR_PARAMS;
  if (state->type != ER_UINT64 || state->ndim != 1 || next->type != ER_UINT64 || next->count != state->count ||
      !(state->count == 2 || (state->count == 3 && !threefry)))
    return ER_ERR_SHAPE;
  const int wide = bits->type == ER_INT64 || bits->type == ER_UINT64;
  if (!wide && bits->type != ER_INT32 && bits->type != ER_UINT32) return ER_ERR_UNSUPPORTED;
  if (state->data == NULL || next->data == NULL || (bits->count > 0 && bits->data == NULL)) return ER_ERR_PARAMS;
  uint32_t s[6] = {0};
  for (int64_t i = 0; i < state->count; ++i) {
    const uint64_t v = load_u64(state->data, i);
    s[2 * i] = (uint32_t)v;
    s[2 * i + 1] = (uint32_t)(v >> 32);
  }
  const int width = threefry ? 2 : 4; /* words per block */
  uint32_t c[4] = {s[2], s[3], state->count == 3 ? s[4] : s[0], state->count == 3 ? s[5] : s[1]};
  const int64_t words = bits->count * (wide ? 2 : 1);
  uint32_t w[4];
  for (int64_t i = 0; i < words; i += width) {
    if (threefry)
      threefry_block(s[0], s[1], c, w);
    else
      philox_block(s[0], s[1], c, w);
    /* words and block widths are even for 64-bit values: a block fills whole ones, low word first */
    for (int j = 0; j < width && i + j < words; j += 1 + wide) {
      if (wide)
        store_u64(bits->data, (i + j) / 2, w[j] | (uint64_t)w[j + 1] << 32);
      else
        memcpy((unsigned char *)bits->data + (i + j) * 4, &w[j], 4);
    }
    if (++c[0] == 0) ++c[1]; /* the low 64 bits only, as LiteRT */
  }
  store_u64(next->data, 0, s[0] | (uint64_t)s[1] << 32);
  store_u64(next->data, 1, c[0] | (uint64_t)c[1] << 32);
  if (state->count == 3) store_u64(next->data, 2, s[4] | (uint64_t)s[5] << 32);
  return ER_OK;
}

/* FAKE_QUANT: TensorFlow's nudge of [min, max] onto 2^num_bits levels with an exact zero, then each value
 * clamped, rounded half away from zero to its level and scaled back, all in float32 as LiteRT computes it
 * (a NaN input gives the nudged minimum, as std::max/std::min leave it). An INT32 tensor is taken as LiteRT's
 * kernel takes it, unchecked: each element's bits are a float32 in and out. */
int er_f32_fake_quant(const er_op *op) {
  const er_fake_quant_params *p = (const er_fake_quant_params *)op->params;
  if (p == NULL || op->n_in < 1 || op->n_out < 1 || op->in[0] == NULL || op->out[0] == NULL) return ER_ERR_PARAMS;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if ((x->type != ER_FLOAT32 && x->type != ER_INT32) || y->type != x->type || x->count != y->count)
    return ER_ERR_SHAPE;
  if (p->num_bits < 1 || p->num_bits > 16) return ER_ERR_PARAMS;
  if (x->count > 0 && (x->data == NULL || y->data == NULL)) return ER_ERR_PARAMS;
  const int32_t qmax_i = (1 << p->num_bits) - 1;
  const float qmin = 0.0f, qmax = (float)qmax_i;
  const float scale = (p->max - p->min) / (qmax - qmin);
  const float zero_from_min = qmin - p->min / scale;
  int32_t zero;
  if (zero_from_min < qmin)
    zero = 0;
  else if (zero_from_min > qmax)
    zero = qmax_i;
  else if (zero_from_min != zero_from_min)
    zero = 0; /* NaN (min = max = 0): what the float-to-integer conversion gives on LiteRT's hosts */
  else
    zero = (int32_t)roundf(zero_from_min);
  const float nmin = (qmin - (float)zero) * scale, nmax = (qmax - (float)zero) * scale;
  const float inv = 1.0f / scale;
  const unsigned char *xd = (const unsigned char *)x->data;
  unsigned char *yd = (unsigned char *)y->data;
  for (int64_t i = 0; i < x->count; ++i) {
    float xi;
    memcpy(&xi, xd + i * 4, 4);
    float v = nmin < xi ? xi : nmin;
    v = v < nmax ? v : nmax;
    const float out = roundf((v - nmin) * inv) * scale + nmin;
    memcpy(yd + i * 4, &out, 4);
  }
  return ER_OK;
}

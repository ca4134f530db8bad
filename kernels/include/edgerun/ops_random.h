/* Params of the random kernels (kernels/ref/random.c): RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL and MULTINOMIAL
 * (Philox-4x32-10 streams as TFLite draws them) and FAKE_QUANT. cdef-friendly: structs and integer #defines
 * only. */
#ifndef EDGERUN_OPS_RANDOM_H
#define EDGERUN_OPS_RANDOM_H
#include "edgerun/core.h"

/* How far a random op has gone in its stream: the number of 128-bit Philox blocks drawn so far, little-endian
 * words. A plan variable (zeros at load and after a reset), so each invoke continues the stream as TFLite's
 * kernel does. */
typedef struct er_philox_state {
  uint32_t blocks[4];
} er_philox_state;

/* f32_random_uniform / f32_random_normal: y (float32, any shape) from the stream; f32_multinomial: logits
 * [batch, classes] float32 and num_samples (int32 scalar) -> y [batch, num_samples] int32 or int64.
 * key: the low and high words of the op's seed; the stream's blocks are the counters start + n (start =
 * seed2 << 64). */
typedef struct er_random_params {
  uint32_t key[2];
  uint32_t start[4];
  er_philox_state *state;
} er_random_params;

/* f32_fake_quant: y = x clamped to [min, max] nudged so that 0 is exact, rounded to one of 2^num_bits levels
 * (TensorFlow's FakeQuantWithMinMaxArgs; the nudge is done in float32 at run, as LiteRT does). */
typedef struct er_fake_quant_params {
  float min;
  float max;
  int32_t num_bits;
} er_fake_quant_params;

#endif

/* Params of the random kernels (kernels/ref/random.c): RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL and MULTINOMIAL
 * (Philox-4x32-10 streams as TFLite draws them), STABLEHLO_RNG_BIT_GENERATOR and FAKE_QUANT. cdef-friendly: structs and integer #defines
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

/* any_rng_bit_generator: state (UINT64 [2], or [3] for Philox) -> new state (UINT64, the state's shape) and bits
 * (INT32, UINT32, INT64 or UINT64, any shape), as LiteRT's kernel: the state's 32-bit words (little-endian) are
 * the key (words 0, 1) and the counter (words 2, 3, and 4, 5 of a [3] state; a [2] state's Philox counter
 * repeats the key in its upper words); the blocks of consecutive counters (only the low 64 bits count up) fill
 * the bits' 32-bit words in order, the new state is the key and the counter after the last block.
 * algorithm: TFLite's RngAlgorithm (DEFAULT runs Philox). */
#define ER_RNG_DEFAULT 0
#define ER_RNG_PHILOX 1
#define ER_RNG_THREEFRY 2
typedef struct er_rng_bit_params {
  int32_t algorithm;
} er_rng_bit_params;

/* f32_fake_quant: y = x clamped to [min, max] nudged so that 0 is exact, rounded to one of 2^num_bits levels
 * (TensorFlow's FakeQuantWithMinMaxArgs; the nudge is done in float32 at run, as LiteRT does). x and y are
 * FLOAT32, or both INT32 holding float32 bits (LiteRT's kernel reads any type that way). */
typedef struct er_fake_quant_params {
  float min;
  float max;
  int32_t num_bits;
} er_fake_quant_params;

#endif

/* Driver of tests/kernels/test_thread_pool.py::test_pool_under_thread_sanitizer: kernels/pool.c alone, built
 * with -fsanitize=thread, under a stand-in executor whose "ops" split counting jobs with er_parallel_for.
 * Checks: every item of every job runs exactly once, ranges start at multiples of the grain, each range's
 * scratch is its own (written whole by the range), a nested er_parallel_for completes (alone inside a split job,
 * split itself inside a job that ran alone),
 * pools of 2..6 threads created, used and destroyed, the no-pool path. Prints "N jobs ok"; exits 1 with a
 * message on the first difference (ThreadSanitizer aborts on a data race). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun/core.h"
#include "edgerun/parallel.h"

#define MAX_ITEMS 300
#define SCRATCH 64

typedef struct job {
  int64_t n, grain;
  int nested;
  int count[MAX_ITEMS];
  int misaligned;
} job;

static void count_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  job *j = (job *)ctx;
  memset(scratch, (int)(b & 0xff), SCRATCH); /* a shared scratch would be a race */
  if (b % j->grain != 0) j->misaligned = 1;  /* only the range's owner writes its own flag... */
  for (int64_t i = b; i < e; ++i) j->count[i] += 1;
}

static void inner_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  /* inside a range of a split job this runs on that range's thread; inside a job that ran alone (one item) it
   * may itself be split over the pool: counted atomically either way */
  __atomic_fetch_add((int *)ctx, (int)(e - b), __ATOMIC_RELAXED);
}

static void nesting_task(void *ctx, void *scratch, int64_t b, int64_t e) {
  job *j = (job *)ctx;
  const er_op inner_op = {0, 0, 0, 0, NULL, NULL, NULL, scratch, SCRATCH};
  for (int64_t i = b; i < e; ++i) {
    int sum = 0;
    er_parallel_for(&inner_op, 10, 1, INT64_MAX, inner_task, &sum);
    j->count[i] += sum == 10;
  }
}

/* the stand-in executor: each op record's params is a job */
int er_exec(const er_plan *plan, int32_t first, int32_t last, int32_t *failed) {
  for (int32_t i = first; i < last; ++i) {
    const er_op *op = &plan->ops[i];
    job *j = (job *)op->params;
    er_parallel_for(op, j->n, j->grain, INT64_MAX, j->nested ? nesting_task : count_task, j);
  }
  (void)failed;
  return ER_OK;
}

int main(void) {
  unsigned seed = 12345;
  long jobs = 0;
  enum { OPS = 8 };
  static job js[OPS];
  static unsigned char scratch0[OPS][SCRATCH];
  er_op ops[OPS];
  const er_plan plan = {OPS, ops, 0, 0, NULL, NULL};
  for (int threads = 1; threads <= 6; ++threads) {
    er_pool *pool = threads > 1 ? er_pool_create(threads, SCRATCH) : NULL;
    if (threads > 1 && !pool) {
      printf("er_pool_create(%d) failed\n", threads);
      return 1;
    }
    for (int round = 0; round < 300; ++round) {
      for (int k = 0; k < OPS; ++k) {
        seed = seed * 1103515245u + 12345u;
        memset(&js[k], 0, sizeof js[k]);
        js[k].n = (int64_t)(seed >> 8) % (MAX_ITEMS + 1);
        js[k].grain = 1 + (int64_t)(seed >> 20) % 7;
        js[k].nested = (seed >> 4) % 5 == 0;
        ops[k] = (er_op){0, k, 0, 0, NULL, NULL, &js[k], scratch0[k], SCRATCH};
      }
      er_exec_pooled(pool, &plan, 0, OPS, NULL);
      for (int k = 0; k < OPS; ++k, ++jobs) {
        for (int64_t i = 0; i < MAX_ITEMS; ++i) {
          const int want = i < js[k].n ? 1 : 0;
          if (js[k].count[i] != want) {
            printf("threads %d round %d op %d (n %lld grain %lld nested %d): item %lld ran %d times\n", threads,
                   round, k, (long long)js[k].n, (long long)js[k].grain, js[k].nested, (long long)i,
                   js[k].count[i]);
            return 1;
          }
        }
        if (js[k].misaligned) {
          printf("threads %d: a range of op %d starts off its grain\n", threads, k);
          return 1;
        }
      }
    }
    er_pool_destroy(pool);
  }
  /* a pool created and destroyed without a job, and one refused */
  er_pool_destroy(er_pool_create(3, 0));
  if (er_pool_create(1, 0) != NULL || er_pool_create(2, -1) != NULL) {
    printf("er_pool_create accepted a bad request\n");
    return 1;
  }
  printf("%ld jobs ok\n", jobs);
  return 0;
}

/* The worker threads of one interpreter (er_pool) and er_parallel_for, which kernels use to split their work.
 *
 * Protocol. The calling thread writes a job (fn, ctx, item count, range size) and publishes it in one atomic
 * ticket (generation, the first and past the last range not yet taken); every thread, the caller included,
 * takes ranges by a compare-and-swap on the ticket and counts each one done; the caller returns when all are
 * done. The caller takes ranges from the front, the workers from the back, so each thread tends to work on
 * the same part of the tensors from one op to the next (what it wrote is still in its own cache), where
 * taking ranges in turn from one end spread every op's rows over both cores at random. A
 * worker that is late (descheduled on a busy machine) finds no range left and holds nobody up: the caller
 * never waits for a thread that took no range. Between jobs, workers spin on the ticket for a short while (the
 * jobs of one invoke follow each other within microseconds) and then sleep on a condition variable; the
 * caller waits for the last outstanding range the same way.
 *
 * The pool in use is a thread-local variable set by er_exec_pooled for the duration of the call (control-flow
 * kernels running subplans on the same thread keep it): kernels need no extra argument, and separate
 * interpreters on separate threads never see each other's pool. Builds without threads (microcontrollers:
 * neither POSIX nor Windows) run everything on the calling thread. */
#include <stdlib.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/parallel.h"

#if defined(_WIN32)
#define ER_POOL_WIN32 1
#elif defined(__unix__) || defined(__APPLE__)
#define ER_POOL_PTHREADS 1
#endif

#if defined(ER_POOL_WIN32) || defined(ER_POOL_PTHREADS)
#include <stdatomic.h>
#ifdef ER_POOL_WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef SRWLOCK er_mutex;
typedef CONDITION_VARIABLE er_cond;
typedef HANDLE er_thread;
static int mutex_init(er_mutex *m) { InitializeSRWLock(m); return 0; }
static void mutex_free(er_mutex *m) { (void)m; }
static void mutex_lock(er_mutex *m) { AcquireSRWLockExclusive(m); }
static void mutex_unlock(er_mutex *m) { ReleaseSRWLockExclusive(m); }
static int cond_init(er_cond *c) { InitializeConditionVariable(c); return 0; }
static void cond_free(er_cond *c) { (void)c; }
static void cond_wait(er_cond *c, er_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
static void cond_signal(er_cond *c) { WakeConditionVariable(c); }
static void cond_broadcast(er_cond *c) { WakeAllConditionVariable(c); }
#else
#include <pthread.h>
typedef pthread_mutex_t er_mutex;
typedef pthread_cond_t er_cond;
typedef pthread_t er_thread;
static int mutex_init(er_mutex *m) { return pthread_mutex_init(m, NULL); }
static void mutex_free(er_mutex *m) { pthread_mutex_destroy(m); }
static void mutex_lock(er_mutex *m) { pthread_mutex_lock(m); }
static void mutex_unlock(er_mutex *m) { pthread_mutex_unlock(m); }
static int cond_init(er_cond *c) { return pthread_cond_init(c, NULL); }
static void cond_free(er_cond *c) { pthread_cond_destroy(c); }
static void cond_wait(er_cond *c, er_mutex *m) { pthread_cond_wait(c, m); }
static void cond_signal(er_cond *c) { pthread_cond_signal(c); }
static void cond_broadcast(er_cond *c) { pthread_cond_broadcast(c); }
#endif

/* one spin-wait step: tell the core this is a busy wait (frees the sibling hyperthread, saves power) */
static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield");
#endif
}

/* spin steps before sleeping: of the order of 100 microseconds, longer than the gap between two ops */
#define SPINS 4096

/* The job ticket: generation (32 bits) | first range not taken (16) | past the last range not taken (16). A
 * thread takes a range (the first, or the last) by a compare-and-swap of the whole ticket, so a range of a
 * finished job can never be claimed, and a job's fields are read only by a thread holding one of its ranges
 * (the caller publishes the next job only when every range is done). */
#define T_FRONT(t) ((int64_t)((t) >> 16 & 0xffff))
#define T_BACK(t) ((int64_t)((t) & 0xffff))
#define MAX_RANGES 0xffff

typedef struct worker {
  struct er_pool *pool;
  int32_t tid;
} worker;

struct er_pool {
  int32_t threads;        /* the caller and threads - 1 workers */
  int64_t scratch_bytes;  /* per worker */
  int64_t min_cost;       /* er_pool_set_min_cost */
  unsigned char *scratch; /* (threads - 1) * scratch_bytes, workers' scratch one after another */
  /* the job: written by the caller while no range of the previous one is outstanding */
  er_task_fn fn;
  void *ctx;
  const er_op *op;
  int64_t n, range, total;
  atomic_ullong ticket;
  atomic_llong done;     /* ranges of the current job finished */
  atomic_int sleepers;   /* workers asleep (or about to be) on `wake` */
  atomic_int stop;
  er_mutex lock;
  er_cond wake, finished;
  int32_t started;       /* workers running (destroy joins them) */
  er_thread *handles;
  worker *workers;
};

static void *scratch_of(struct er_pool *pool, int32_t tid) {
  return tid == 0 ? pool->op->scratch : pool->scratch + (size_t)(tid - 1) * (size_t)pool->scratch_bytes;
}

static int has_work(unsigned long long t) { return T_FRONT(t) < T_BACK(t); }

/* claim and run ranges of the job in `ticket` until none is left: the caller (tid 0) from the front, workers
 * from the back */
static void run_ranges(struct er_pool *pool, int32_t tid) {
  unsigned long long t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
  while (has_work(t)) {
    const unsigned long long next = tid == 0 ? t + ((unsigned long long)1 << 16) : t - 1;
    if (!atomic_compare_exchange_weak_explicit(&pool->ticket, &t, next, memory_order_acq_rel,
                                               memory_order_acquire))
      continue; /* t now holds the current ticket */
    const int64_t r = tid == 0 ? T_FRONT(t) : T_BACK(t) - 1, total = pool->total;
    const int64_t b = r * pool->range, e = b + pool->range < pool->n ? b + pool->range : pool->n;
    pool->fn(pool->ctx, scratch_of(pool, tid), b, e);
    if (atomic_fetch_add_explicit(&pool->done, 1, memory_order_acq_rel) + 1 == total && tid != 0) {
      mutex_lock(&pool->lock); /* the caller may be asleep waiting for this last range */
      cond_signal(&pool->finished);
      mutex_unlock(&pool->lock);
    }
    t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
  }
}

static void worker_loop(worker *w) {
  struct er_pool *pool = w->pool;
  for (;;) {
    int spins = 0;
    while (!has_work(atomic_load_explicit(&pool->ticket, memory_order_acquire))) {
      if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return;
      if (++spins < SPINS) {
        relax();
        continue;
      }
      mutex_lock(&pool->lock);
      atomic_fetch_add(&pool->sleepers, 1); /* sequentially consistent with the caller's publish */
      while (!has_work(atomic_load(&pool->ticket)) && !atomic_load(&pool->stop)) cond_wait(&pool->wake, &pool->lock);
      atomic_fetch_sub(&pool->sleepers, 1);
      mutex_unlock(&pool->lock);
      spins = 0;
    }
    run_ranges(pool, w->tid);
  }
}

#ifdef ER_POOL_WIN32
static DWORD WINAPI thread_main(LPVOID arg) {
  worker_loop((worker *)arg);
  return 0;
}
static int thread_start(er_thread *t, worker *w) {
  *t = CreateThread(NULL, 0, thread_main, w, 0, NULL);
  return *t ? 0 : -1;
}
static void thread_join(er_thread t) {
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
}
#else
static void *thread_main(void *arg) {
  worker_loop((worker *)arg);
  return NULL;
}
static int thread_start(er_thread *t, worker *w) { return pthread_create(t, NULL, thread_main, w); }
static void thread_join(er_thread t) { pthread_join(t, NULL); }
#endif

int er_pool_available(void) { return 1; }

er_pool *er_pool_create(int32_t threads, int64_t scratch_bytes) {
  if (threads < 2 || threads > 1024 || scratch_bytes < 0) return NULL;
  const int64_t stride = (scratch_bytes + 63) / 64 * 64;
  if (stride > INT64_MAX / 1024 || (uint64_t)(stride * (threads - 1)) > (uint64_t)SIZE_MAX - 64) return NULL;
  er_pool *pool = (er_pool *)calloc(1, sizeof *pool);
  if (!pool) return NULL;
  pool->threads = threads;
  pool->scratch_bytes = stride;
  pool->min_cost = ER_PARALLEL_MIN_COST;
  pool->handles = (er_thread *)calloc((size_t)threads - 1, sizeof *pool->handles);
  pool->workers = (worker *)calloc((size_t)threads - 1, sizeof *pool->workers);
  pool->scratch = stride > 0 ? (unsigned char *)malloc((size_t)(stride * (threads - 1))) : NULL;
  atomic_init(&pool->ticket, 0);
  atomic_init(&pool->done, 0);
  atomic_init(&pool->sleepers, 0);
  atomic_init(&pool->stop, 0);
  if (!pool->handles || !pool->workers || (stride > 0 && !pool->scratch)) {
    free(pool->handles);
    free(pool->workers);
    free(pool->scratch);
    free(pool);
    return NULL;
  }
  if (mutex_init(&pool->lock) != 0) goto fail_mutex;
  if (cond_init(&pool->wake) != 0) goto fail_wake;
  if (cond_init(&pool->finished) != 0) goto fail_done;
  for (int32_t i = 0; i < threads - 1; ++i) {
    pool->workers[i].pool = pool;
    pool->workers[i].tid = i + 1;
    if (thread_start(&pool->handles[i], &pool->workers[i]) != 0) {
      er_pool_destroy(pool); /* joins the ones started */
      return NULL;
    }
    pool->started = i + 1;
  }
  return pool;
fail_done:
  cond_free(&pool->wake);
fail_wake:
  mutex_free(&pool->lock);
fail_mutex:
  free(pool->handles);
  free(pool->workers);
  free(pool->scratch);
  free(pool);
  return NULL;
}

void er_pool_destroy(er_pool *pool) {
  if (!pool) return;
  mutex_lock(&pool->lock);
  atomic_store_explicit(&pool->stop, 1, memory_order_release);
  cond_broadcast(&pool->wake);
  mutex_unlock(&pool->lock);
  for (int32_t i = 0; i < pool->started; ++i) thread_join(pool->handles[i]);
  cond_free(&pool->finished);
  cond_free(&pool->wake);
  mutex_free(&pool->lock);
  free(pool->handles);
  free(pool->workers);
  free(pool->scratch);
  free(pool);
}

void er_pool_set_min_cost(er_pool *pool, int64_t cost) {
  if (pool) pool->min_cost = cost < 0 ? 0 : cost;
}

static _Thread_local er_pool *current;

int er_exec_pooled(er_pool *pool, const er_plan *plan, int32_t first, int32_t last, int32_t *failed) {
  er_pool *outer = current;
  current = pool;
  const int status = er_exec(plan, first, last, failed);
  current = outer;
  return status;
}

void er_parallel_for(const er_op *op, int64_t n, int64_t grain, int64_t cost, er_task_fn fn, void *ctx) {
  er_pool *pool = current;
  if (grain < 1) grain = 1;
  const int64_t units = (n + grain - 1) / grain;
  if (!pool || n <= 0 || units < 2 || cost < pool->min_cost || op->scratch_bytes > pool->scratch_bytes) {
    if (n > 0) fn(ctx, op->scratch, 0, n);
    return;
  }
  /* about four ranges per thread, so that a thread slowed by others does not hold up the op */
  int64_t per = units / ((int64_t)pool->threads * 4);
  if (per < 1) per = 1;
  if ((units + per - 1) / per > MAX_RANGES) per = (units + MAX_RANGES - 1) / MAX_RANGES;
  pool->fn = fn;
  pool->ctx = ctx;
  pool->op = op;
  pool->n = n;
  pool->range = per * grain;
  const int64_t total = (n + pool->range - 1) / pool->range;
  pool->total = total;
  atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
  const unsigned long long gen = (atomic_load_explicit(&pool->ticket, memory_order_relaxed) >> 32) + 1;
  atomic_store(&pool->ticket, gen << 32 | (unsigned long long)total); /* publish (seq_cst): ranges [0, total) */
  if (atomic_load(&pool->sleepers) > 0) {
    mutex_lock(&pool->lock);
    cond_broadcast(&pool->wake);
    mutex_unlock(&pool->lock);
  }
  current = NULL; /* a kernel inside the job runs alone rather than re-entering the pool */
  run_ranges(pool, 0);
  current = pool;
  /* the ranges other threads still run: spin a little, then sleep until the last one signals */
  int spins = 0;
  while (atomic_load_explicit(&pool->done, memory_order_acquire) != total) {
    if (++spins < SPINS) {
      relax();
      continue;
    }
    mutex_lock(&pool->lock);
    while (atomic_load_explicit(&pool->done, memory_order_acquire) != total) cond_wait(&pool->finished, &pool->lock);
    mutex_unlock(&pool->lock);
  }
}

#else /* no threads on this target */

struct er_pool {
  int unused;
};

int er_pool_available(void) { return 0; }

er_pool *er_pool_create(int32_t threads, int64_t scratch_bytes) {
  (void)threads;
  (void)scratch_bytes;
  return NULL;
}

void er_pool_destroy(er_pool *pool) { (void)pool; }

void er_pool_set_min_cost(er_pool *pool, int64_t cost) {
  (void)pool;
  (void)cost;
}

int er_exec_pooled(er_pool *pool, const er_plan *plan, int32_t first, int32_t last, int32_t *failed) {
  (void)pool;
  return er_exec(plan, first, last, failed);
}

void er_parallel_for(const er_op *op, int64_t n, int64_t grain, int64_t cost, er_task_fn fn, void *ctx) {
  (void)grain;
  (void)cost;
  if (n > 0) fn(ctx, op->scratch, 0, n);
}

#endif

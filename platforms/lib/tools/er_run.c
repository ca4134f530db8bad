/* Runner of a plan file through the C API (what the tests and `edgerun run --target` use; the plan-file twin
 * of platforms/codegen/harness.c).
 *
 *   er_run [--info] [--borrow] [--reset] [--threads N] [--warmup N] [--repeat N] PLAN [DIR]
 *
 * Reads input i from DIR/in<i>.bin (the raw bytes of one or more consecutive steps), invokes once per step
 * and appends output j of every step to DIR/out<j>.bin. --info prints the inputs and outputs and exits;
 * --borrow opens the plan from a 16-aligned buffer without copying it; --reset resets the variables before
 * every step (each step then starts a new stream); --repeat N invokes each step N times, after --warmup N
 * untimed invokes (timing; the outputs of the last are written).
 * After a run it prints, one line each (what `edgerun run/bench --target` and the tests read):
 *   kernels: set S, micro-kernels I, int8 dot GEMM P   the plan's kernel set, the ISA the library selected at
 *                                                      open (by the plan and this CPU), the int8 dot-layout path
 *   memory: model N B, arena N B, heap peak N B, max RSS N KiB   (heap: glibc's in-use bytes, -1 elsewhere;
 *                                                      RSS: /proc's VmHWM, -1 without it; under an emulator
 *                                                      its own memory too)
 *   time: N invokes, min X us, median X us, max X us   (CLOCK_MONOTONIC around edgerun_invoke)
 * Exit status: 0; 1 usage; 2 a missing or short input file; 3 an output it cannot write; 4 the plan was
 * refused (the message is printed); 5 set_num_threads refused; 10 + the status when an invoke fails. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HEAP_IN_USE() ((long long)(mallinfo2().uordblks + mallinfo2().hblkhd))
#else
#define HEAP_IN_USE() (-1LL)
#endif
#if defined(_WIN32) /* the Windows C runtime has no aligned_alloc; its own pair frees with _aligned_free */
#include <malloc.h>
#define ALIGNED_ALLOC(align, n) _aligned_malloc((n), (align))
#define ALIGNED_FREE(p) _aligned_free(p)
#else
#define ALIGNED_ALLOC(align, n) aligned_alloc((align), (n))
#define ALIGNED_FREE(p) free(p)
#endif

#include "edgerun/host_isa.h"
#include "edgerun_runtime.h"
#include "opt/ukernels.h"

static const char *isa_name(int isa) {
  static const char *names[ER_HOST_ISA_COUNT] = {"ref", "portable", "sse2", "avx2", "neon", "neon-dotprod"};
  return isa >= 0 && isa < ER_HOST_ISA_COUNT ? names[isa] : "?";
}

#if ER_HAVE_NEON_DOTPROD_UKERNELS && defined(__linux__)
/* the SMMLA table, in builds whose kernels/neon has it (weak: NULL otherwise) */
extern const er_qd_ukernels er_qd_ukernels_neon_i8mm __attribute__((weak));
#endif

/* the micro-kernels of the int8 dot-layout GEMM (s8_conv2d_dot, s8_fc_dot) the library selected */
static const char *dot_path(void) {
#if ER_HAVE_NEON_DOTPROD_UKERNELS
  if (er_qd_selected == &er_qd_ukernels_neon_dotprod) return "sdot";
#endif
#if ER_HAVE_NEON_DOTPROD_UKERNELS && defined(__linux__)
  if (&er_qd_ukernels_neon_i8mm != NULL && er_qd_selected == &er_qd_ukernels_neon_i8mm) return "i8mm";
#endif
#if ER_HAVE_NEON_UKERNELS
  if (er_qd_selected == &er_qd_ukernels_neon) return "smull";
#endif
  if (er_qd_selected == &er_qd_ukernels_portable) return "portable";
  return "other";
}

/* the process's peak resident memory (VmHWM: of this program since exec, unlike getrusage's ru_maxrss,
 * which keeps the parent's from before the exec); under qemu-user the emulator's own memory is included */
static long max_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  if (f != NULL) fclose(f);
  return kib;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long file_size(FILE *f) {
  if (fseek(f, 0, SEEK_END) != 0) return -1;
  long n = ftell(f);
  if (fseek(f, 0, SEEK_SET) != 0) return -1;
  return n;
}

static edgerun_model *open_plan(const char *path, int borrow, void **keep) {
  char err[256];
  edgerun_model *m = NULL;
  edgerun_status st;
  if (!borrow) {
    st = edgerun_open_file(path, &m, err, sizeof err);
  } else {
    FILE *f = fopen(path, "rb");
    long n = f ? file_size(f) : -1;
    void *buf = n >= 0 ? ALIGNED_ALLOC(16, ((size_t)n + 15) / 16 * 16 + 16) : NULL;
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
      printf("cannot read %s\n", path);
      if (f) fclose(f);
      ALIGNED_FREE(buf);
      return NULL;
    }
    fclose(f);
    st = edgerun_open_memory(buf, (size_t)n, EDGERUN_BORROW, &m, err, sizeof err);
    *keep = buf;
  }
  if (st != EDGERUN_OK) printf("%s: %s: %s\n", path, edgerun_status_name(st), err);
  return m;
}

static void print_io(edgerun_model *m) {
  printf("target %s, kernel set %s, model %zu B, arena %zu B\n", edgerun_model_target(m),
         edgerun_model_kernel_set(m), edgerun_model_bytes(m), edgerun_arena_bytes(m));
  for (int out = 0; out < 2; ++out) {
    int32_t n = out ? edgerun_output_count(m) : edgerun_input_count(m);
    for (int32_t i = 0; i < n; ++i) {
      edgerun_tensor_info t;
      if ((out ? edgerun_output_info(m, i, &t) : edgerun_input_info(m, i, &t)) != EDGERUN_OK) continue;
      printf("%s %d '%s' type %d shape (", out ? "output" : "input", i, t.name, t.type);
      for (int d = 0; d < t.ndim; ++d) printf("%s%d", d ? ", " : "", t.dims[d]);
      printf(") scale %g zero_point %d bytes %zu\n", (double)t.scale, t.zero_point, t.bytes);
    }
  }
}

int main(int argc, char **argv) {
  int info = 0, borrow = 0, reset = 0, threads = 1, warmup = 0, repeat = 1, a = 1;
  for (; a < argc && strncmp(argv[a], "--", 2) == 0; ++a) {
    if (strcmp(argv[a], "--info") == 0) info = 1;
    else if (strcmp(argv[a], "--borrow") == 0) borrow = 1;
    else if (strcmp(argv[a], "--reset") == 0) reset = 1;
    else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) threads = atoi(argv[++a]);
    else if (strcmp(argv[a], "--repeat") == 0 && a + 1 < argc && atoi(argv[a + 1]) >= 1)
      repeat = atoi(argv[++a]);
    else if (strcmp(argv[a], "--warmup") == 0 && a + 1 < argc && atoi(argv[a + 1]) >= 0)
      warmup = atoi(argv[++a]);
    else {
      printf("unknown option %s\n", argv[a]);
      return 1;
    }
  }
  if (a >= argc) {
    printf("usage: er_run [--info] [--borrow] [--reset] [--threads N] [--warmup N] [--repeat N] PLAN [DIR]\n");
    return 1;
  }
  const char *plan = argv[a], *dir = a + 1 < argc ? argv[a + 1] : ".";
  void *keep = NULL;
  edgerun_model *m = open_plan(plan, borrow, &keep);
  if (m == NULL) return 4;
  long long heap_peak = HEAP_IN_USE();
  if (info) {
    print_io(m);
    edgerun_close(m);
    ALIGNED_FREE(keep);
    return 0;
  }
  if (edgerun_set_num_threads(m, threads) != EDGERUN_OK) {
    printf("%s\n", edgerun_last_error(m));
    edgerun_close(m);
    ALIGNED_FREE(keep);
    return 5;
  }
  if (threads > 1) heap_peak = HEAP_IN_USE(); /* the pool's workers and their scratch included */
  int32_t ni = edgerun_input_count(m), no = edgerun_output_count(m);
  FILE **in = calloc((size_t)ni + 1, sizeof *in), **out = calloc((size_t)no + 1, sizeof *out);
  char path[4096];
  long steps = 1, n_times = 0;
  double *times = NULL;
  int rc = 0;
  for (int32_t i = 0; i < ni && rc == 0; ++i) {
    edgerun_tensor_info t;
    edgerun_input_info(m, i, &t);
    snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
    in[i] = fopen(path, "rb");
    long n = in[i] ? file_size(in[i]) : -1;
    if (n < 0 || (t.bytes > 0 && n % (long)t.bytes != 0)) {
      printf("%s: missing, or not a multiple of input %d's %zu bytes\n", path, i, t.bytes);
      rc = 2;
    } else if (t.bytes > 0) {
      steps = (i == 0 || n / (long)t.bytes < steps) ? n / (long)t.bytes : steps;
    }
  }
  for (int32_t j = 0; j < no && rc == 0; ++j) {
    snprintf(path, sizeof path, "%s/out%d.bin", dir, j);
    if ((out[j] = fopen(path, "wb")) == NULL) {
      printf("cannot create %s\n", path);
      rc = 3;
    }
  }
  if (rc == 0 && (times = malloc(sizeof *times * (size_t)(steps * repeat + 1))) == NULL) {
    printf("cannot allocate the timing table\n");
    rc = 3;
  }
  for (long s = 0; s < steps && rc == 0; ++s) {
    for (int32_t i = 0; i < ni && rc == 0; ++i) {
      void *data;
      size_t bytes;
      edgerun_input_buffer(m, i, &data, &bytes);
      if (fread(data, 1, bytes, in[i]) != bytes) {
        printf("in%d.bin: short read at step %ld\n", i, s);
        rc = 2;
      }
    }
    if (rc) break;
    for (int r = -warmup; r < repeat && rc == 0; ++r) {
      if (reset) edgerun_reset_variables(m);
      double t0 = now_us();
      edgerun_status st = edgerun_invoke(m);
      if (r >= 0) times[n_times++] = now_us() - t0;
      if (st != EDGERUN_OK) {
        printf("step %ld: %s\n", s, edgerun_last_error(m));
        rc = 10 + (int)st;
      }
    }
    if (rc) break;
    long long heap = HEAP_IN_USE();
    heap_peak = heap > heap_peak ? heap : heap_peak;
    for (int32_t j = 0; j < no && rc == 0; ++j) {
      const void *data;
      size_t bytes;
      edgerun_output_buffer(m, j, &data, &bytes);
      if (fwrite(data, 1, bytes, out[j]) != bytes) {
        printf("out%d.bin: short write\n", j);
        rc = 3;
      }
    }
  }
  for (int32_t i = 0; i < ni; ++i)
    if (in[i]) fclose(in[i]);
  for (int32_t j = 0; j < no; ++j)
    if (out[j]) fclose(out[j]);
  free(in);
  free(out);
  if (rc == 0) {
    printf("%ld steps, threads %d\n", steps, threads);
    printf("kernels: set %s, micro-kernels %s, int8 dot GEMM %s\n", edgerun_model_kernel_set(m),
           isa_name(er_selected_isa()), dot_path());
    printf("memory: model %zu B, arena %zu B, heap peak %lld B, max RSS %ld KiB\n", edgerun_model_bytes(m),
           edgerun_arena_bytes(m), heap_peak, max_rss_kib());
    qsort(times, (size_t)n_times, sizeof *times, cmp_double);
    if (n_times > 0)
      printf("time: %ld invokes, min %.1f us, median %.1f us, max %.1f us\n", n_times, times[0],
             times[n_times / 2], times[n_times - 1]);
  }
  free(times);
  edgerun_close(m);
  ALIGNED_FREE(keep);
  return rc;
}

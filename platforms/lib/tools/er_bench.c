/* Benchmark of a plan file through the C API: what `edgerun bench --target android-arm64 --adb` pushes to a
 * phone (and what the tests run under qemu-user). Prints ONE JSON object on stdout that platforms/adb.py
 * turns into the desktop bench's table.
 *
 *   er_bench [--runs N] [--warmup N] [--profile-runs N] [--inputs DIR] [--seed S] PLAN
 *
 * Inputs are deterministic pseudo-random data (float in [-1, 1), integers over their whole range, bool 0/1;
 * xorshift32 from --seed, default 1) or, with --inputs, DIR/in<i>.bin holding one step's raw bytes. They are
 * copied in before every invoke (a device plan may reuse input memory), outside the timed region.
 * Warm-up invokes (default 5), then N timed invokes (default 50) with profiling off: the latency figures.
 * Then N profiled invokes (--profile-runs, default N; 0 skips them) with edgerun_set_profiling on, timed too:
 * the per-op profile (the entries of edgerun_profile) and their own latencies.
 *
 * JSON: tool, version, target, kernel_set, kernel_sets (this build's), plan_bytes, model_bytes, arena_bytes,
 * peak_rss_bytes (VmHWM of /proc/self/status, else getrusage; under qemu-user the emulator's), inputs, warmup, runs, latency_ns {min, median,
 * p90, p99, mean, max} (percentiles by nearest rank, sorted[ceil(p * n / 100) - 1], and the median the middle
 * value or the mean of the two middle ones, as the desktop bench), times_ns [per run], profile_runs,
 * profile_times_ns, ops [{record, index, op, kernel, calls, ns}] in execution order (0 when not profiled).
 * Exit status: 0; 1 usage; 2 a missing or short input file; 4 the plan was refused; 6 out of memory;
 * 10 + the status when an invoke fails. Messages go to stderr. */
#define _XOPEN_SOURCE 700 /* clock_gettime, getrusage */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "edgerun_runtime.h"

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint32_t next(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* [-1, 1) from 24 random bits */
static float unit(uint32_t *s) { return (float)(next(s) >> 8) / 8388608.0f - 1.0f; }

static void fill(uint8_t *p, size_t bytes, int32_t type, uint32_t *s) {
  if (type == EDGERUN_FLOAT32) {
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
      float v = unit(s);
      memcpy(p + i, &v, 4);
    }
  } else if (type == EDGERUN_FLOAT64) {
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
      double v = unit(s);
      memcpy(p + i, &v, 8);
    }
  } else if (type == EDGERUN_FLOAT16) {
    for (size_t i = 0; i + 2 <= bytes; i += 2) {  /* sign, exponent -1, random mantissa: [0.5, 1) */
      uint32_t r = next(s);
      uint16_t h = (uint16_t)((r & 0x8000u) | 0x3800u | (r >> 16 & 0x3FFu));
      memcpy(p + i, &h, 2);
    }
  } else if (type == EDGERUN_BOOL) {
    for (size_t i = 0; i < bytes; ++i) p[i] = (uint8_t)(next(s) >> 31);
  } else {
    for (size_t i = 0; i < bytes; ++i) p[i] = (uint8_t)(next(s) >> 24);
  }
}

/* nearest rank: the smallest value with at least pct% of the runs at or below it */
static uint64_t percentile(const uint64_t *sorted, int32_t n, int32_t pct) {
  int64_t rank = ((int64_t)pct * n + 99) / 100;
  return sorted[rank > 0 ? rank - 1 : 0];
}

/* Peak resident memory of this program: VmHWM belongs to the process image (getrusage's ru_maxrss also
 * keeps the high-water mark of whatever ran in the process before exec, e.g. a forking Python). */
static long long peak_rss(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long long kib = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtoll(line + 6, NULL, 10);
  if (f != NULL) fclose(f);
  struct rusage ru;
  if (kib < 0 && getrusage(RUSAGE_SELF, &ru) == 0) kib = (long long)ru.ru_maxrss;
  return kib >= 0 ? kib * 1024 : -1;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void print_times(const char *key, const uint64_t *t, int32_t n) {
  printf(",\n  \"%s\": [", key);
  for (int32_t i = 0; i < n; ++i) printf("%s%llu", i ? ", " : "", (unsigned long long)t[i]);
  printf("]");
}

/* names in plans are identifiers; escape anyway so the output stays JSON */
static void print_string(const char *s) {
  putchar('"');
  for (; s != NULL && *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int parse_count(const char *s, int32_t *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v < 0 || v > 10000000) return 0;
  *out = (int32_t)v;
  return 1;
}

int main(int argc, char **argv) {
  int32_t runs = 50, warmup = 5, profile_runs = -1, seed = 1, a = 1;
  const char *dir = NULL;
  for (; a < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
    const char *opt = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
    int ok = val != NULL;
    if (ok && strcmp(opt, "--runs") == 0) ok = parse_count(val, &runs) && runs > 0;
    else if (ok && strcmp(opt, "--warmup") == 0) ok = parse_count(val, &warmup);
    else if (ok && strcmp(opt, "--profile-runs") == 0) ok = parse_count(val, &profile_runs);
    else if (ok && strcmp(opt, "--seed") == 0) ok = parse_count(val, &seed);
    else if (ok && strcmp(opt, "--inputs") == 0) dir = val;
    else ok = 0;
    if (!ok) {
      fprintf(stderr, "er_bench: bad option %s %s\n", opt, val ? val : "(missing value)");
      return 1;
    }
  }
  if (a + 1 != argc) {
    fprintf(stderr, "usage: er_bench [--runs N] [--warmup N] [--profile-runs N] [--inputs DIR] [--seed S] PLAN\n");
    return 1;
  }
  if (profile_runs < 0) profile_runs = runs;
  const char *path = argv[a];

  char err[256];
  edgerun_model *m = NULL;
  edgerun_status st = edgerun_open_file(path, &m, err, sizeof err);
  if (st != EDGERUN_OK) {
    fprintf(stderr, "%s: %s: %s\n", path, edgerun_status_name(st), err);
    return st == EDGERUN_ERROR_MEMORY ? 6 : 4;
  }
  long plan_bytes = -1;
  FILE *pf = fopen(path, "rb");
  if (pf != NULL && fseek(pf, 0, SEEK_END) == 0) plan_bytes = ftell(pf);
  if (pf != NULL) fclose(pf);

  /* one step of inputs, kept to copy in before every invoke */
  int32_t n_in = edgerun_input_count(m);
  uint8_t **inputs = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof *inputs);
  size_t *in_bytes = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof *in_bytes);
  uint64_t *times = malloc((size_t)runs * sizeof *times);
  uint64_t *ptimes = malloc((size_t)(profile_runs > 0 ? profile_runs : 1) * sizeof *ptimes);
  uint64_t *sorted = malloc((size_t)runs * sizeof *sorted);
  if (inputs == NULL || in_bytes == NULL || times == NULL || ptimes == NULL || sorted == NULL) {
    fprintf(stderr, "er_bench: out of memory for %d runs\n", runs);
    return 6;
  }
  uint32_t state = 0x9E3779B9u ^ (uint32_t)seed;
  if (state == 0) state = 1;
  for (int32_t i = 0; i < n_in; ++i) {
    edgerun_tensor_info t;
    edgerun_input_info(m, i, &t);
    in_bytes[i] = t.bytes;
    inputs[i] = malloc(t.bytes > 0 ? t.bytes : 1);
    if (inputs[i] == NULL) {
      fprintf(stderr, "er_bench: out of memory for input %d (%zu bytes)\n", i, t.bytes);
      return 6;
    }
    if (dir == NULL) {
      fill(inputs[i], t.bytes, t.type, &state);
      continue;
    }
    char name[4096];
    snprintf(name, sizeof name, "%s/in%d.bin", dir, i);
    FILE *f = fopen(name, "rb");
    size_t got = f != NULL ? fread(inputs[i], 1, t.bytes, f) : 0;
    if (f != NULL) fclose(f);
    if (f == NULL || got != t.bytes) {
      fprintf(stderr, "%s: input %d '%s' needs %zu bytes, %s\n", name, i, t.name, t.bytes,
              f == NULL ? "cannot open the file" : "the file is shorter");
      return 2;
    }
  }

  int32_t total = warmup + runs + profile_runs;
  for (int32_t k = 0; k < total; ++k) {
    int profiled = k >= warmup + runs;
    if (k == warmup + runs) {
      edgerun_reset_profile(m);
      edgerun_set_profiling(m, 1);
    }
    for (int32_t i = 0; i < n_in; ++i) edgerun_set_input(m, i, inputs[i], in_bytes[i]);
    uint64_t t0 = now_ns();
    st = edgerun_invoke(m);
    uint64_t t1 = now_ns();
    if (st != EDGERUN_OK) {
      fprintf(stderr, "%s: invoke %d: %s\n", path, k, edgerun_last_error(m));
      return 10 + (int)st;
    }
    if (profiled) ptimes[k - warmup - runs] = t1 - t0;
    else if (k >= warmup) times[k - warmup] = t1 - t0;
  }
  edgerun_set_profiling(m, 0);

  memcpy(sorted, times, (size_t)runs * sizeof *sorted);
  qsort(sorted, (size_t)runs, sizeof *sorted, cmp_u64);
  double sum = 0;
  for (int32_t i = 0; i < runs; ++i) sum += (double)times[i];
  double median = runs % 2 ? (double)sorted[runs / 2] : ((double)sorted[runs / 2 - 1] + (double)sorted[runs / 2]) / 2;
  long long peak = peak_rss();

  printf("{\n  \"tool\": \"er_bench\", \"version\": ");
  print_string(edgerun_runtime_version());
  printf(", \"target\": ");
  print_string(edgerun_model_target(m));
  printf(", \"kernel_set\": ");
  print_string(edgerun_model_kernel_set(m));
  printf(", \"kernel_sets\": ");
  print_string(edgerun_kernel_sets());
  printf(",\n  \"plan_bytes\": %ld, \"model_bytes\": %zu, \"arena_bytes\": %zu, \"peak_rss_bytes\": %lld,\n",
         plan_bytes, edgerun_model_bytes(m), edgerun_arena_bytes(m), peak);
  printf("  \"inputs\": ");
  if (dir != NULL) print_string(dir);
  else printf("\"seed %d\"", seed);
  printf(", \"warmup\": %d, \"runs\": %d,\n", warmup, runs);
  printf("  \"latency_ns\": {\"min\": %llu, \"median\": %.1f, \"p90\": %llu, \"p99\": %llu, \"mean\": %.1f, "
         "\"max\": %llu}",
         (unsigned long long)sorted[0], median, (unsigned long long)percentile(sorted, runs, 90),
         (unsigned long long)percentile(sorted, runs, 99), sum / runs,
         (unsigned long long)sorted[runs - 1]);
  print_times("times_ns", times, runs);
  printf(",\n  \"profile_runs\": %d", profile_runs);
  print_times("profile_times_ns", ptimes, profile_runs);
  printf(",\n  \"ops\": [");
  int32_t n_ops = edgerun_op_count(m);
  for (int32_t j = 0; j < n_ops; ++j) {
    edgerun_op_profile p;
    edgerun_profile(m, j, &p);
    printf("%s\n    {\"record\": %d, \"index\": %d, \"op\": ", j ? "," : "", j, p.index);
    print_string(p.op);
    printf(", \"kernel\": ");
    print_string(p.kernel);
    printf(", \"calls\": %llu, \"ns\": %llu}", (unsigned long long)p.calls, (unsigned long long)p.nanoseconds);
  }
  printf("\n  ]\n}\n");

  for (int32_t i = 0; i < n_in; ++i) free(inputs[i]);
  free(inputs);
  free(in_bytes);
  free(times);
  free(ptimes);
  free(sorted);
  edgerun_close(m);
  return 0;
}

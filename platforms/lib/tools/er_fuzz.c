/* Fuzz driver of the plan loader (tests/platforms/test_clib.py builds it under ASan/UBSan): every file named
 * in LIST is opened (alternately copied and borrowed) in a child process and, when the library accepts it,
 * invoked twice on zero inputs, reset and read back. A child must end by itself within the timeout with one
 * of the codes below; a signal, a sanitizer report (its own exit code) or a timeout is a failure.
 *
 *   er_fuzz [--timeout SECONDS] [--verbose] LIST
 *
 * Prints one line "refused R ran N invoke-errors E failures F slowest-ms T slowest PATH" and then each failing
 * file with its cause; exits 1 when anything failed. --verbose: one line per file on stderr (its outcome and
 * milliseconds, then the library's message when it refused the file or failed an invoke). Linux/POSIX only
 * (fork, alarm, clock_gettime). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edgerun_runtime.h"

enum { REFUSED = 10, RAN = 11, INVOKE_ERROR = 12 };

static int child(const char *path, int borrow, int verbose) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 2;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = aligned_alloc(16, ((size_t)n + 16) / 16 * 16);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) return 2;
  fclose(f);
  char err[256];
  edgerun_model *m = NULL;
  edgerun_status st = edgerun_open_memory(buf, (size_t)n, borrow ? EDGERUN_BORROW : EDGERUN_COPY, &m, err, sizeof err);
  if (st != EDGERUN_OK) {
    if (m != NULL || err[0] == 0) return 3; /* a failure must say why, and leave no model */
    if (verbose) fprintf(stderr, "  %s\n", err);
    free(buf);
    return REFUSED;
  }
  int code = RAN;
  for (int step = 0; step < 2; ++step) {
    for (int32_t i = 0; i < edgerun_input_count(m); ++i) {
      void *data;
      size_t bytes;
      if (edgerun_input_buffer(m, i, &data, &bytes) != EDGERUN_OK) return 4;
      if (bytes) memset(data, 0, bytes);
    }
    if (edgerun_invoke(m) != EDGERUN_OK) {
      if (edgerun_last_error(m)[0] == 0) return 5;
      if (verbose) fprintf(stderr, "  %s\n", edgerun_last_error(m));
      code = INVOKE_ERROR;
      break;
    }
  }
  edgerun_reset_variables(m);
  for (int32_t j = 0; j < edgerun_output_count(m); ++j) {
    edgerun_tensor_info t;
    if (edgerun_output_info(m, j, &t) != EDGERUN_OK) return 6;
    void *out = malloc(t.bytes + 1);
    if (edgerun_get_output(m, j, out, t.bytes) != EDGERUN_OK) return 7;
    free(out);
  }
  edgerun_close(m);
  free(buf);
  return code;
}

int main(int argc, char **argv) {
  int timeout = 10, verbose = 0, a = 1;
  for (;;) {
    if (a + 1 < argc && strcmp(argv[a], "--timeout") == 0) {
      timeout = atoi(argv[a + 1]);
      a += 2;
    } else if (a < argc && strcmp(argv[a], "--verbose") == 0) {
      verbose = 1;
      a += 1;
    } else {
      break;
    }
  }
  if (a >= argc) {
    fprintf(stderr, "usage: er_fuzz [--timeout SECONDS] [--verbose] LIST\n");
    return 2;
  }
  FILE *list = fopen(argv[a], "r");
  if (list == NULL) {
    fprintf(stderr, "cannot open %s\n", argv[a]);
    return 2;
  }
  static char path[4096], failures[64][4200], slowest[4096] = "-";
  static const char *outcomes[] = {"refused", "ran", "invoke-error"};
  long counts[3] = {0, 0, 0}, n_fail = 0, k = 0;
  double slowest_ms = 0;
  while (fgets(path, sizeof path, list) != NULL) {
    path[strcspn(path, "\r\n")] = 0;
    if (path[0] == 0) continue;
    fflush(stdout);
    fflush(stderr);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
      alarm((unsigned)timeout);
      _exit(child(path, (int)(k & 1), verbose));
    }
    int status = 0;
    const char *why = NULL;
    char text[64];
    int waited = pid >= 0 && waitpid(pid, &status, 0) >= 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (ms > slowest_ms) {
      slowest_ms = ms;
      snprintf(slowest, sizeof slowest, "%s", path);
    }
    if (!waited) {
      why = "fork/wait failed";
    } else if (WIFSIGNALED(status)) {
      snprintf(text, sizeof text, WTERMSIG(status) == SIGALRM ? "timeout (hang)" : "signal %d", WTERMSIG(status));
      why = text;
    } else if (WEXITSTATUS(status) >= REFUSED && WEXITSTATUS(status) <= INVOKE_ERROR) {
      counts[WEXITSTATUS(status) - REFUSED]++;
    } else {
      snprintf(text, sizeof text, "exit code %d (sanitizer report or API misbehaviour)", WEXITSTATUS(status));
      why = text;
    }
    if (verbose) fprintf(stderr, "%s %.1f ms %s\n", why ? why : outcomes[WEXITSTATUS(status) - REFUSED], ms, path);
    if (why != NULL) {
      if (n_fail < 64) snprintf(failures[n_fail], sizeof failures[n_fail], "%s: %s", path, why);
      ++n_fail;
    }
    ++k;
  }
  fclose(list);
  printf("refused %ld ran %ld invoke-errors %ld failures %ld slowest-ms %.1f slowest %s\n", counts[0], counts[1],
         counts[2], n_fail, slowest_ms, slowest);
  for (long f = 0; f < n_fail && f < 64; ++f) printf("%s\n", failures[f]);
  return n_fail ? 1 : 0;
}

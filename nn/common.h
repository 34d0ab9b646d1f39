// Checked calls and small helpers shared by every module.
// A failed check prints file:line, what went wrong and what to do, then exits.
#ifndef PWM_NN_COMMON_H
#define PWM_NN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// Print "pwm: error: <msg> (file:line)" and exit(1). For conditions a user cannot recover from
// inside the program (out of memory, a programming error such as a shape mismatch).
void nn_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define nn_fatal(...) nn_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

// Abort with a message when cond is false. Active in every build, unlike assert.
#define nn_check(cond, ...) \
    do { if (!(cond)) nn_fatal_at(__FILE__, __LINE__, __VA_ARGS__); } while (0)

// A macro's value as a string literal, for help texts that quote a constant
#define NN_STR(x) NN_STR_(x)
#define NN_STR_(x) #x

// Allocation that never returns NULL; 64-byte aligned, zero-filled.
void *nn_malloc_at(const char *file, int line, size_t bytes);
#define nn_malloc(bytes) nn_malloc_at(__FILE__, __LINE__, (bytes))
void nn_free(void *p);

// fopen that reports the path, the reason and a hint on failure.
FILE *nn_fopen_at(const char *file, int line, const char *path, const char *mode);
#define nn_fopen(path, mode) nn_fopen_at(__FILE__, __LINE__, (path), (mode))

// CRC-32 (zip's polynomial) of n bytes, continuing from crc (start with 0).
uint32_t nn_crc32(uint32_t crc, const void *data, size_t n);

// Whether a file (or directory) exists at path.
int nn_file_exists(const char *path);
// mkdir -p; 0, or -1 with errno set
int nn_mkdirs(const char *path);
// The path of a file the source tree ships (a task's model, a gnuplot script): $<env_var>/<name>
// where that variable is set, else <tree>/<subdir>/<name> in the nearest folder above the running
// binary that holds it (build/pwm, build/tests, build/sanitize/pwm), else <subdir>/<name>.
void nn_tree_file(char *buf, size_t n, const char *env_var, const char *subdir, const char *name);

// Format an error message into err[errlen] (if err is non-NULL) and return -1.
// Recoverable errors (bad files, bad configs) use this instead of nn_fatal.
int nn_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Monotonic wall clock in seconds.
double nn_now(void);

// qsort comparator for doubles in ascending order.
int nn_cmp_double(const void *a, const void *b);

// Progress of a long loop on stderr: "label done/total pct elapsed ETA", once the loop has run for
// 2 s. On a terminal it redraws one line; otherwise it prints a line about every 10% or 30 s.
// t_start is nn_now() at the start.
void nn_progress(const char *label, long done, long total, double t_start);

// "OpenBLAS kernel K (detected)" or "... (OPENBLAS_CORETYPE=K)": the matrix-product kernels, which
// change a run's floats, so a run records them beside its git commit and seed.
void nn_blas_kernel(char *buf, size_t n);

// Threads used by the numeric core (OpenMP loops, matrix products included). n <= 0: all cores.
void nn_set_threads(int n);
int nn_get_threads(void);

#endif

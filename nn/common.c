#include "common.h"

#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void nn_fatal_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pwm: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s:%d)\n", file, line);
    va_end(ap);
    exit(1);
}

void *nn_malloc_at(const char *file, int line, size_t bytes) {
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p)
        nn_fatal_at(file, line, "out of memory allocating %zu bytes; reduce the batch, "
                    "model size or number of environments", bytes);
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

void nn_free(void *p) { free(p); }

FILE *nn_fopen_at(const char *file, int line, const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f)
        nn_fatal_at(file, line, "cannot open '%s' (mode %s): %s; check the path and permissions",
                    path, mode, strerror(errno));
    return f;
}

int nn_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

double nn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nn_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(1);  // nn_sgemm spreads matrix products over the OpenMP threads
}

int nn_get_threads(void) { return omp_get_max_threads(); }

#include "common.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void nn_fatal_at(const char *file, int line, const char *fmt, ...) {
    // threads that fail together (MuJoCo's errors in parallel rollouts) would interleave their
    // messages: the first one reports and exits, the others wait for the exit
    // (a fatal error inside the exit that follows one, on the same thread, ends at once)
    static atomic_flag reported = ATOMIC_FLAG_INIT;
    static _Thread_local int exiting;
    if (exiting) _exit(1);
    exiting = 1;
    if (atomic_flag_test_and_set(&reported))
        for (;;) pause();
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pwm: error: %s (%s:%d)\n", msg, file, line);
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

uint32_t nn_crc32(uint32_t crc, const void *data, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int nn_file_exists(const char *path) { return access(path, F_OK) == 0; }

void nn_tree_file(char *buf, size_t n, const char *env_var, const char *subdir, const char *name) {
    const char *dir = getenv(env_var);
    if (dir && *dir) {
        snprintf(buf, n, "%s/%s", dir, name);
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = 0;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) break;
        *slash = 0;
        snprintf(buf, n, "%s/%s/%s", exe, subdir, name);
        if (nn_file_exists(buf)) return;
    }
    snprintf(buf, n, "%s/%s", subdir, name);
}

int nn_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int nn_mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

double nn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_duration(char *buf, size_t n, double s) {
    if (s < 60) snprintf(buf, n, "%.1fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void nn_progress(const char *label, long done, long total, double t_start) {
    static double last_print;
    static long last_pct = -1;
    double now = nn_now(), elapsed = now - t_start;
    long pct = total > 0 ? 100 * done / total : 0;
    int tty = isatty(fileno(stderr)), finished = done >= total;
    // quiet for runs shorter than 2 s; then on a terminal at most 10 redraws a second, in a log a
    // line about every 10% or 30 s
    if (elapsed < 2.0) return;
    if (tty ? (!finished && now - last_print < 0.1) : (!finished && pct / 10 == last_pct / 10 && now - last_print < 30))
        return;
    last_print = now;
    last_pct = pct;
    char el[32], eta[32];
    fmt_duration(el, sizeof el, elapsed);
    fmt_duration(eta, sizeof eta, done > 0 ? elapsed * (double)(total - done) / (double)done : 0.0);
    fprintf(stderr, "%s%s %ld/%ld %3ld%% elapsed %s ETA %s%s", tty ? "\r" : "", label, done, total, pct, el, eta,
            tty && !finished ? "   " : "\n");
    fflush(stderr);
}

void nn_blas_kernel(char *buf, size_t n) {
    const char *pin = getenv("OPENBLAS_CORETYPE");
    if (pin && *pin) snprintf(buf, n, "OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s)", openblas_get_corename(), pin);
    else snprintf(buf, n, "OpenBLAS kernel %s (detected)", openblas_get_corename());
}

void nn_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(1);  // nn_sgemm spreads matrix products over the OpenMP threads
}

int nn_get_threads(void) { return omp_get_max_threads(); }

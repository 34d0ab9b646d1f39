// The test runner: build/tests [SUBSTRING]. Runs every case whose "file/name" contains SUBSTRING.
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"

#define SUITE(x) extern const test_case x[];
#include "suites.h"
#undef SUITE

static const test_suite suites[] = {
#define SUITE(x) {#x, x},
#include "suites.h"
#undef SUITE
};

jmp_buf test_jmp;
char test_msg[512];
int test_skipped;
static char tmpdir[256];

void test_fail_at(const char *file, int line, const char *fmt, ...) {
    int n = snprintf(test_msg, sizeof test_msg, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(test_msg + n, sizeof test_msg - (size_t)n, fmt, ap);
    va_end(ap);
    test_skipped = 0;
    longjmp(test_jmp, 1);
}

void test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(test_msg, sizeof test_msg, fmt, ap);
    va_end(ap);
    test_skipped = 1;
    longjmp(test_jmp, 1);
}

const char *test_tmpdir(void) { return tmpdir; }

void test_read_file(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "r");
    CHECK(f, "cannot read %s", path);
    buf[fread(buf, 1, n - 1, f)] = 0;
    fclose(f);
}

void test_strip_column(char *s, int column) {
    size_t o = 0;
    for (size_t i = 0, col = 0; s[i]; i++) {
        if (s[i] == '\n') col = 0;
        else if (s[i] == ',') col++;
        if (col != (size_t)column || s[i] == ',') s[o++] = s[i];
    }
    s[o] = 0;
}

void test_strip_wall(char *s) { test_strip_column(s, 2); }

// field `column` (from 0; -1: the last) of the line at s, as [*start, *end)
static void csv_field(const char *s, int column, const char **start, const char **end) {
    const char *line_end = s + strcspn(s, "\n");
    for (int c = 0; column < 0 || c < column; c++) {
        const char *comma = memchr(s, ',', (size_t)(line_end - s));
        if (!comma) break;
        s = comma + 1;
    }
    *start = s, *end = column < 0 ? line_end : s + strcspn(s, ",\n");
}

void test_take_actor_column(char *log, const char *plain) {
    size_t o = 0;
    for (int row = 0; log[o] && *plain; row++) {
        const char *a0, *a1, *p0, *p1;
        csv_field(log + o, -1, &a0, &a1);
        csv_field(plain, 4, &p0, &p1);
        CHECK(a0 > log + o, "row %d of the averaged run's log has one column", row);
        if (row == 0) CHECK(a1 - a0 == 10 && !memcmp(a0, "eval_actor", 10), "no eval_actor column: %.*s", (int)(a1 - a0), a0);
        else CHECK(a1 - a0 == p1 - p0 && !memcmp(a0, p0, (size_t)(a1 - a0)), "row %d: the actor's evaluation %.*s, the "
                   "plain run's %.*s", row, (int)(a1 - a0), a0, (int)(p1 - p0), p0);
        // drop ",value" and keep the newline
        size_t cut = (size_t)(a0 - log) - 1, rest = strlen(a1);
        memmove(log + cut, a1, rest + 1);
        o = cut + (log[cut] == '\n');
        plain += strcspn(plain, "\n");
        plain += *plain == '\n';
    }
    CHECK(!log[o] && !*plain, "the logs differ in length");
}

void test_read_log(const char *dir, char *buf, size_t n) {
    char path[1100];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    test_read_file(path, buf, n);
    test_strip_wall(buf);
}

// run one case; 0 passed, 1 failed, 2 skipped (setjmp kept in its own frame)
static int run_case(const test_case *c) {
    if (setjmp(test_jmp) == 0) {
        c->fn();
        return 0;
    }
    return test_skipped ? 2 : 1;
}

static pid_t runner_pid;

// only the runner's own exit removes it (not a forked child that exits, e.g. through nn_fatal)
static void remove_tmpdir(void) {
    if (getpid() != runner_pid) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : "";
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: build/tests [SUBSTRING]\n  runs the cases whose suite/name contains SUBSTRING\n");
        return 0;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pwm-tests-XXXXXX");
    if (!mkdtemp(tmpdir)) nn_fatal("cannot create a scratch directory under /tmp");
    runner_pid = getpid();
    atexit(remove_tmpdir);
    nn_set_threads(0);

    int passed = 0, failed = 0, skipped = 0;
    for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
        for (const test_case *c = suites[s].cases; c->name; c++) {
            char full[256];
            snprintf(full, sizeof full, "%s/%s", suites[s].file, c->name);
            if (!strstr(full, filter)) continue;
            nn_set_threads(0);
            double t0 = nn_now();
            int result = run_case(c);
            if (result == 0) {
                printf("ok    %-50s %7.2fs\n", full, nn_now() - t0);
                passed++;
            } else if (result == 2) {
                printf("skip  %-50s (%s)\n", full, test_msg);
                skipped++;
            } else {
                printf("FAIL  %-50s\n      %s\n", full, test_msg);
                failed++;
            }
            fflush(stdout);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

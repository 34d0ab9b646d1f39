// A small test harness. Each tests/test_*.c file defines its cases with TEST(name) and lists them
// in a table that tests/main.c runs. A failed CHECK ends the current case (longjmp) and the runner
// goes on with the next one. The runner prints one line per case and ends with
// "N passed, N failed, N skipped".
#ifndef PWM_TESTS_TEST_H
#define PWM_TESTS_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdio.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

typedef struct {
    const char *file;
    const test_case *cases;
} test_suite;

extern jmp_buf test_jmp;
extern char test_msg[512];
extern int test_skipped;

void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define TEST(name) static void name(void)
#define CHECK(cond, ...) \
    do { if (!(cond)) test_fail_at(__FILE__, __LINE__, __VA_ARGS__); } while (0)
// |a - b| <= atol + rtol * max(|a|, |b|)
#define CHECK_CLOSE(a, b, rtol, atol)                                                       \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        double tol_ = (atol) + (rtol) * fmax(fabs(a_), fabs(b_));                           \
        if (!(fabs(a_ - b_) <= tol_))                                                       \
            test_fail_at(__FILE__, __LINE__, "%s = %.9g vs %s = %.9g (tol %.3g)", #a, a_, #b, b_, tol_); \
    } while (0)

// A scratch directory for the current test run (created by the runner, removed at exit).
const char *test_tmpdir(void);
// The file at path into buf (n bytes at most, zero-terminated); fails the test if unreadable.
void test_read_file(const char *path, char *buf, size_t n);
// Drop the wall-time column (the third) from every line of a training log held in s, in place:
// what two runs that should agree bit for bit may still differ in.
void test_strip_wall(char *s);
// A run directory's log.csv into buf (n bytes at most) without its wall-time column.
void test_read_log(const char *dir, char *buf, size_t n);
// Empty column `column` (from 0) of every line of CSV text s, in place, keeping its commas.
void test_strip_column(char *s, int column);
// The log of a run with --actor-average (from test_read_log) against the plain run's on the same
// seed: fails the test unless its last column is eval_actor and holds, row by row, the plain run's
// eval_return (the same actor at the same start states); then removes that column from log.
void test_take_actor_column(char *log, const char *plain);

#endif

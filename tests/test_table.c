// The single-task table's statistics: the interquartile mean and its stratified bootstrap.
#include <math.h>

#include "../experiments/table.h"
#include "test.h"

TEST(interquartile_mean) {
    // 8 values: the lowest two and the highest two are trimmed
    double x[8] = {100, -50, 3, 4, 5, 6, 1000, 2};
    CHECK_CLOSE(iqm(x, 8), (3 + 4 + 5 + 6) / 4.0, 1e-12, 0);
    // 5 values: one trimmed from each end (floor(5/4) = 1); 3 or fewer: none, the plain mean
    double y[5] = {1, 2, 3, 4, 100};
    CHECK_CLOSE(iqm(y, 5), 3.0, 1e-12, 0);
    double z[3] = {1, 2, 30};
    CHECK_CLOSE(iqm(z, 3), 11.0, 1e-12, 0);
    CHECK(x[0] == 100 && x[6] == 1000, "iqm reordered its input");
}

TEST(bootstrap_interval) {
    // identical values: a zero-width interval at the value; spread values: an interval around the
    // IQM that narrows when every stratum holds more seeds
    double a[4] = {2, 2, 2, 2}, lo, hi;
    const double *xa = a;
    int na = 4;
    iqm_bootstrap_ci(&xa, &na, 1, 500, 1, &lo, &hi);
    CHECK(lo == 2 && hi == 2, "constant data: [%g, %g]", lo, hi);
    double b[40], c[40];
    for (int i = 0; i < 40; i++) b[i] = i % 10, c[i] = 100 + i % 10;
    const double *x2[2] = {b, c};
    int small[2] = {10, 10}, big[2] = {40, 40};
    double lo1, hi1, lo2, hi2;
    iqm_bootstrap_ci(x2, small, 2, 2000, 2, &lo1, &hi1);
    iqm_bootstrap_ci(x2, big, 2, 2000, 2, &lo2, &hi2);
    double all[20];
    for (int i = 0; i < 10; i++) all[i] = b[i], all[10 + i] = c[i];
    double m = iqm(all, 20);
    CHECK(lo1 <= m && m <= hi1, "IQM %g outside [%g, %g]", m, lo1, hi1);
    CHECK(hi2 - lo2 < hi1 - lo1, "more seeds did not narrow the interval: %g vs %g", hi2 - lo2, hi1 - lo1);
    // stratified: each replicate keeps 10 values from each task, so the pooled IQM stays between
    // the two tasks' ranges
    CHECK(lo1 > 9 && hi1 < 100, "[%g, %g]", lo1, hi1);
}

const test_case table_tests[] = {
    {"interquartile_mean", interquartile_mean},
    {"bootstrap_interval", bootstrap_interval},
    {0},
};

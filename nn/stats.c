// Statistics of gradient samples (stats.h).
#include "stats.h"

#include <math.h>

#include "common.h"

void nn_esnr(const double *g, int S, size_t P, double *var, double *esnr) {
    nn_check(S >= 2, "nn_esnr: %d samples (need 2 or more)", S);
    double v = 0, s = 0;
    for (size_t p = 0; p < P; p++) {
        double m = 0, q = 0;
        for (int i = 0; i < S; i++) m += g[(size_t)i * P + p];
        m /= S;
        for (int i = 0; i < S; i++) q += (g[(size_t)i * P + p] - m) * (g[(size_t)i * P + p] - m);
        q /= S - 1;  // the unbiased sample variance, as torch.var
        v += q / P;
        s += m * m / (q + 1e-9) / P;
    }
    *var = v, *esnr = s;
}

double nn_cosine(const double *a, const double *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : NAN;
}

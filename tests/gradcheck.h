// Central finite-difference checks of backward passes built on nn/graph.h.
//
// fd_check builds a scalar L = Σ_i w_i·y_i (w fixed random) from the op under test, backpropagates,
// and compares every input gradient (and every parameter gradient, if params is given) with
// (L(x+eps) − L(x−eps)) / 2eps, L evaluated in double. An element passes when
// |analytic − numeric| <= atol + rtol·max(|analytic|, |numeric|).
#ifndef PWM_TESTS_GRADCHECK_H
#define PWM_TESTS_GRADCHECK_H

#include "../nn/graph.h"
#include "../nn/params.h"

#define FD_MAX_INPUTS 6

typedef struct {
    int k;                                   // number of inputs
    float *data[FD_MAX_INPUTS];              // input values (perturbed in place)
    int n[FD_MAX_INPUTS], d[FD_MAX_INPUTS];  // shapes
} fd_inputs;

typedef nn_tensor *(*fd_build)(nn_graph *g, nn_tensor **in, void *ctx);

typedef struct {
    float eps, rtol, atol;
} fd_tol;

// Default tolerance for float32 ops: eps 3e-3, rtol 1e-2, atol 1e-3.
#define FD_TOL ((fd_tol){3e-3f, 1e-2f, 1e-3f})

// Check the gradients; fails the current test (CHECK) on the first mismatch and returns the max
// relative error seen. params may be NULL.
double fd_check(const char *what, fd_build f, void *ctx, fd_inputs *in, nn_params *params, fd_tol tol);

// Fill n floats with U(lo, hi) from a fixed seed.
void fd_fill(float *x, size_t n, float lo, float hi, unsigned seed);

#endif

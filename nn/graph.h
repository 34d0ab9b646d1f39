// Tensors and the tape that records ops for backpropagation.
//
// A graph owns an arena. Every op called on it allocates its output (and whatever backward
// needs) from the arena and, when any input requires a gradient, records a node. nn_backward
// walks the nodes in reverse, so a computation unrolled over many steps (dynamics, actor, critic,
// reward over a 16–32 step horizon) backpropagates like a single one. nn_graph_reset drops the
// nodes and rewinds the arena but keeps its memory: after the first iteration a training loop
// allocates nothing.
//
// Parameters are tensors too (see params.h): their values and gradients live in the model's
// buffer, and backward accumulates into their gradients when they require one.
#ifndef PWM_NN_GRAPH_H
#define PWM_NN_GRAPH_H

#include <stddef.h>

#include "ops.h"

// A 2-D row-major tensor (n rows × d columns).
typedef struct nn_tensor {
    float *x;           // values, n·d
    float *g;           // gradient, same layout; NULL until one flows here
    int n, d;
    int requires_grad;  // backward computes a gradient for this tensor
} nn_tensor;

typedef struct nn_graph nn_graph;

// Create a graph. chunk_bytes is the arena's block size (0: 64 MiB); blocks are added on first use.
nn_graph *nn_graph_new(size_t chunk_bytes);
void nn_graph_free(nn_graph *g);
// Drop every node and tensor; the arena's memory is kept for the next pass.
void nn_graph_reset(nn_graph *g);
// Bytes of arena memory held (the high-water mark of any pass so far).
size_t nn_graph_bytes(const nn_graph *g);
// Scratch memory from the graph's arena, valid until the next reset. Not zeroed.
void *nn_graph_alloc(nn_graph *g, size_t bytes);
// While no_grad is set, ops record no nodes and their outputs need no gradient.
void nn_graph_set_no_grad(nn_graph *g, int no_grad);

// A new tensor of n×d from the arena (uninitialised), a leaf of the graph.
nn_tensor *nn_tensor_new(nn_graph *g, int n, int d, int requires_grad);
// A leaf tensor holding a copy of data.
nn_tensor *nn_tensor_from(nn_graph *g, const float *data, int n, int d, int requires_grad);
// The gradient buffer of t, allocated and zeroed on first use.
float *nn_grad(nn_graph *g, nn_tensor *t);

// Backpropagate from a 1×1 loss (seeded with 1). To start from other tensors, write their
// seeds into nn_grad(g, t) and call nn_backward(g, NULL).
void nn_backward(nn_graph *g, nn_tensor *loss);

// ---- ops (all record a node when an input requires a gradient) --------------------------------
// y = x·W^T + b, W (out×in), b (1×out) or NULL.
nn_tensor *nn_linear(nn_graph *g, nn_tensor *x, nn_tensor *W, nn_tensor *b);
// LayerNorm over each row, w and b (1×d).
nn_tensor *nn_layernorm(nn_graph *g, nn_tensor *x, nn_tensor *w, nn_tensor *b);
nn_tensor *nn_activation(nn_graph *g, nn_tensor *x, nn_act act);
// act(LayerNorm(x·W^T + b)) as one node with the fused kernels (ops.h: layernorm_act_*); SimNorm over
// groups of `group` instead of act when group > 0. Bitwise the same values and gradients as
// nn_linear, nn_layernorm and nn_activation (or nn_simnorm) in a row, with fewer passes over memory.
nn_tensor *nn_linear_norm_act(nn_graph *g, nn_tensor *x, nn_tensor *W, nn_tensor *b, nn_tensor *ln_w, nn_tensor *ln_b,
                              nn_act act, int group);
nn_tensor *nn_softmax(nn_graph *g, nn_tensor *x);
nn_tensor *nn_log_softmax(nn_graph *g, nn_tensor *x);
nn_tensor *nn_simnorm(nn_graph *g, nn_tensor *x, int group);
nn_tensor *nn_symlog(nn_graph *g, nn_tensor *x);
nn_tensor *nn_symexp(nn_graph *g, nn_tensor *x);
// Two-hot encoding of x (n×1) → (n×bins.nb).
nn_tensor *nn_two_hot(nn_graph *g, nn_tensor *x, nn_bins bins);
// Decoded value of bin logits (n×nb) → (n×1): symexp(Σ softmax·bins). nn_two_hot_expect skips
// the symexp (the expectation in symlog space).
nn_tensor *nn_two_hot_inv(nn_graph *g, nn_tensor *logits, nn_bins bins);
nn_tensor *nn_two_hot_expect(nn_graph *g, nn_tensor *logits, nn_bins bins);
// Per-row soft cross-entropy of logits against target probabilities → (n×1).
nn_tensor *nn_soft_ce(nn_graph *g, nn_tensor *logits, nn_tensor *target);
// Per-row mean squared error → (n×1).
nn_tensor *nn_mse(nn_graph *g, nn_tensor *a, nn_tensor *b);
// Columns of the inputs side by side (all with the same rows).
nn_tensor *nn_concat(nn_graph *g, nn_tensor **xs, int k);
// Columns [off, off+width) of x.
nn_tensor *nn_split(nn_graph *g, nn_tensor *x, int off, int width);
// Rows [r0, r0+n) of x: a view of x's values (no copy); gradients flow back into x.
nn_tensor *nn_rows(nn_graph *g, nn_tensor *x, int r0, int n);
// Elementwise a+b, a−b, a·b; b may also be (n×1), (1×d) or (1×1) and is broadcast.
nn_tensor *nn_add(nn_graph *g, nn_tensor *a, nn_tensor *b);
nn_tensor *nn_sub(nn_graph *g, nn_tensor *a, nn_tensor *b);
nn_tensor *nn_mul(nn_graph *g, nn_tensor *a, nn_tensor *b);
// s·x for a constant s.
nn_tensor *nn_scale(nn_graph *g, nn_tensor *x, float s);
// min(max(x, lo), hi); the gradient is zero where the clamp is active.
nn_tensor *nn_clamp(nn_graph *g, nn_tensor *x, float lo, float hi);
// Mean of all elements → (1×1).
nn_tensor *nn_mean(nn_graph *g, nn_tensor *x);
// Sum of each row → (n×1).
nn_tensor *nn_sum_cols(nn_graph *g, nn_tensor *x);
// Elementwise exp(x).
nn_tensor *nn_exp(nn_graph *g, nn_tensor *x);
// An op defined by the caller: a new n×d output whose values the caller writes, recorded with
// inputs in[0..k) (any k) when one of them requires a gradient. backward(g, ctx, out, in) must
// accumulate into nn_grad(g, in[i]) for the inputs that require one; ctx must stay valid until
// the graph is reset (allocate it with nn_graph_alloc).
typedef void (*nn_custom_backward)(nn_graph *g, void *ctx, nn_tensor *out, nn_tensor **in);
nn_tensor *nn_custom(nn_graph *g, int n, int d, nn_tensor **in, int k, nn_custom_backward backward, void *ctx);
// The same values with no gradient path (stop-gradient). Shares x's memory.
nn_tensor *nn_detach(nn_graph *g, nn_tensor *x);

#endif

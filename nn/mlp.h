// Multi-layer perceptrons in the two block orders the paper's models use.
//
//   NN_BLOCK_NORM_ACT  Linear → LayerNorm → act   (TD-MPC2 / PWM world model: NormedLinear)
//   NN_BLOCK_ACT_NORM  Linear → act → LayerNorm   (SHAC / PWM actor and critic)
//
// Hidden layers use the block; the last layer is a plain Linear, or (NN_OUT_SIMNORM)
// Linear → LayerNorm → SimNorm as TD-MPC2's encoder and dynamics, or (NN_OUT_NORM_ACT)
// Linear → LayerNorm → act (the "no SimNorm" world model of the smoothness ablation). With layernorm = 0 the hidden
// blocks drop their LayerNorm (the "plain ReLU" world model of the smoothness ablation).
#ifndef PWM_NN_MLP_H
#define PWM_NN_MLP_H

#include "graph.h"
#include "params.h"

#define NN_MLP_MAX_HIDDEN 8

typedef enum { NN_BLOCK_NORM_ACT, NN_BLOCK_ACT_NORM } nn_block;
typedef enum { NN_OUT_LINEAR, NN_OUT_SIMNORM, NN_OUT_NORM_ACT } nn_out;

typedef struct {
    int in, out;
    int n_hidden, hidden[NN_MLP_MAX_HIDDEN];
    nn_act act;
    nn_block block;
    int layernorm;      // 1: hidden blocks have LayerNorm (the usual case)
    nn_out out_kind;
    int simnorm_group;  // NN_OUT_SIMNORM: group size (8)
} nn_mlp_spec;

typedef struct {
    nn_mlp_spec spec;
    int n_layers;  // n_hidden + 1
    nn_tensor *W[NN_MLP_MAX_HIDDEN + 1], *b[NN_MLP_MAX_HIDDEN + 1];
    nn_tensor *ln_w[NN_MLP_MAX_HIDDEN + 1], *ln_b[NN_MLP_MAX_HIDDEN + 1];  // NULL where absent
} nn_mlp;

// Declare the MLP's tensors in p under "prefix.i.weight", "prefix.i.bias", "prefix.i.ln.weight",
// "prefix.i.ln.bias" (i = layer index).
void nn_mlp_declare(nn_mlp *m, nn_params *p, const char *prefix, const nn_mlp_spec *spec);

typedef enum {
    NN_INIT_TRUNC_NORMAL,  // TD-MPC2: weights trunc-normal std 0.02, biases 0
    NN_INIT_TORCH,         // PyTorch's nn.Linear default
    NN_INIT_ORTHOGONAL,    // orthogonal with gain √2, biases 0
} nn_init_kind;

// Initialise the weights (after nn_params_alloc); LayerNorm weights 1, biases 0.
// zero_last sets the last Linear's weight to 0 (TD-MPC2's reward and Q heads).
void nn_mlp_init(nn_mlp *m, nn_init_kind kind, int zero_last, nn_rng *r);
// Forward x (n×in) → (n×out), recorded on g.
nn_tensor *nn_mlp_forward(nn_graph *g, const nn_mlp *m, nn_tensor *x);
// Floating-point operations of one forward pass for a batch of n (2·in·out per Linear).
double nn_mlp_flops(const nn_mlp *m, int n);

#endif

// The stochastic actor of SHAC and PWM: μ = MLP(obs), a state-independent log-std, actions
// u = tanh(μ + exp(logstd)·ε) (ε ~ N(0, 1); ε = 0 for the deterministic policy).
#ifndef PWM_POLICY_ACTOR_H
#define PWM_POLICY_ACTOR_H

#include "../nn/mlp.h"

#define ACTOR_MAX_UNITS NN_MLP_MAX_HIDDEN

typedef struct {
    nn_mlp mlp;
    nn_tensor *logstd;  // 1 × act_dim
    int obs_dim, act_dim;
} actor;

// Declare the actor's tensors in p ("<prefix>mlp.*", "<prefix>logstd"): hidden layers `units`
// with Linear → act → LayerNorm blocks and a linear output.
void actor_declare(actor *a, nn_params *p, const char *prefix, int obs_dim, int act_dim, const int *units,
                   int n_units, nn_act act);
// PyTorch's default Linear init and logstd = logstd_init (after nn_params_alloc).
void actor_init(actor *a, nn_rng *r, float logstd_init);
// u = tanh(μ(obs) + exp(logstd)·eps) for a batch (obs n × obs_dim, already normalised);
// eps (n × act_dim) NULL gives the deterministic tanh(μ).
nn_tensor *actor_forward(nn_graph *g, const actor *a, nn_tensor *obs, const float *eps);

#endif

#include "actor.h"

#include <stdio.h>

#include "../nn/common.h"

void actor_declare(actor *a, nn_params *p, const char *prefix, int obs_dim, int act_dim, const int *units,
                   int n_units, nn_act act) {
    nn_check(n_units >= 1 && n_units <= ACTOR_MAX_UNITS, "actor: %d hidden layers (1..%d)", n_units, ACTOR_MAX_UNITS);
    nn_mlp_spec spec = {.in = obs_dim, .out = act_dim, .n_hidden = n_units, .act = act, .block = NN_BLOCK_ACT_NORM,
                        .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < n_units; i++) spec.hidden[i] = units[i];
    char name[NN_PARAM_NAME];
    snprintf(name, sizeof name, "%smlp", prefix);
    nn_mlp_declare(&a->mlp, p, name, &spec);
    snprintf(name, sizeof name, "%slogstd", prefix);
    a->logstd = nn_params_add_vec(p, name, act_dim);
    a->obs_dim = obs_dim;
    a->act_dim = act_dim;
}

void actor_init(actor *a, nn_rng *r, float logstd_init) {
    nn_mlp_init(&a->mlp, NN_INIT_TORCH, 0, r);
    nn_init_const(a->logstd->x, (size_t)a->act_dim, logstd_init);
}

nn_tensor *actor_forward(nn_graph *g, const actor *a, nn_tensor *obs, const float *eps) {
    nn_tensor *mu = nn_mlp_forward(g, &a->mlp, obs);
    if (eps) {
        nn_tensor *noise = nn_mul(g, nn_tensor_from(g, eps, mu->n, mu->d, 0), nn_exp(g, a->logstd));
        mu = nn_add(g, mu, noise);
    }
    return nn_activation(g, mu, NN_ACT_TANH);
}

#include "mlp.h"

#include <math.h>
#include <stdio.h>

#include "common.h"

void nn_mlp_declare(nn_mlp *m, nn_params *p, const char *prefix, const nn_mlp_spec *spec) {
    nn_check(spec->n_hidden >= 0 && spec->n_hidden <= NN_MLP_MAX_HIDDEN, "mlp '%s': %d hidden layers (max %d)",
             prefix, spec->n_hidden, NN_MLP_MAX_HIDDEN);
    nn_check(spec->out_kind != NN_OUT_SIMNORM || (spec->simnorm_group > 0 && spec->out % spec->simnorm_group == 0),
             "mlp '%s': output width %d is not a multiple of the SimNorm group %d", prefix, spec->out,
             spec->simnorm_group);
    *m = (nn_mlp){.spec = *spec, .n_layers = spec->n_hidden + 1};
    char name[NN_PARAM_NAME];
    for (int i = 0, in = spec->in; i < m->n_layers; i++) {
        int last = i == spec->n_hidden, out = last ? spec->out : spec->hidden[i];
        snprintf(name, sizeof name, "%s.%d.weight", prefix, i);
        m->W[i] = nn_params_add(p, name, out, in);
        snprintf(name, sizeof name, "%s.%d.bias", prefix, i);
        m->b[i] = nn_params_add_vec(p, name, out);
        if (last ? spec->out_kind != NN_OUT_LINEAR : spec->layernorm) {
            snprintf(name, sizeof name, "%s.%d.ln.weight", prefix, i);
            m->ln_w[i] = nn_params_add_vec(p, name, out);
            snprintf(name, sizeof name, "%s.%d.ln.bias", prefix, i);
            m->ln_b[i] = nn_params_add_vec(p, name, out);
        }
        in = out;
    }
}

void nn_mlp_init(nn_mlp *m, nn_init_kind kind, int zero_last, nn_rng *r) {
    for (int i = 0; i < m->n_layers; i++) {
        nn_tensor *W = m->W[i], *b = m->b[i];
        size_t nw = (size_t)W->n * W->d;
        switch (kind) {
        case NN_INIT_TORCH: nn_init_torch_linear(W->x, b->x, W->n, W->d, r); break;
        case NN_INIT_ORTHOGONAL:
            nn_init_orthogonal(W->x, W->n, W->d, sqrtf(2.0f), r);
            nn_init_zeros(b->x, (size_t)b->d);
            break;
        default:
            nn_init_trunc_normal(W->x, nw, 0.02f, -2.0f, 2.0f, r);
            nn_init_zeros(b->x, (size_t)b->d);
            break;
        }
        if (zero_last && i == m->n_layers - 1) nn_init_zeros(W->x, nw);
        if (m->ln_w[i]) {
            nn_init_const(m->ln_w[i]->x, (size_t)m->ln_w[i]->d, 1.0f);
            nn_init_zeros(m->ln_b[i]->x, (size_t)m->ln_b[i]->d);
        }
    }
}

nn_tensor *nn_mlp_forward(nn_graph *g, const nn_mlp *m, nn_tensor *x) {
    nn_check(x->d == m->spec.in, "mlp: input has %d columns, the model expects %d", x->d, m->spec.in);
    const nn_mlp_spec *s = &m->spec;
    for (int i = 0; i < m->n_layers; i++) {
        int last = i == m->n_layers - 1;
        // Linear → LayerNorm → act or SimNorm: one fused node
        if (last && s->out_kind != NN_OUT_LINEAR)
            x = nn_linear_norm_act(g, x, m->W[i], m->b[i], m->ln_w[i], m->ln_b[i], s->act,
                                   s->out_kind == NN_OUT_SIMNORM ? s->simnorm_group : 0);
        else if (!last && s->block == NN_BLOCK_NORM_ACT && m->ln_w[i])
            x = nn_linear_norm_act(g, x, m->W[i], m->b[i], m->ln_w[i], m->ln_b[i], s->act, 0);
        else if (last)
            x = nn_linear(g, x, m->W[i], m->b[i]);
        else {
            // Linear → act, then LayerNorm in the act-norm order
            x = nn_activation(g, nn_linear(g, x, m->W[i], m->b[i]), s->act);
            if (s->block == NN_BLOCK_ACT_NORM && m->ln_w[i]) x = nn_layernorm(g, x, m->ln_w[i], m->ln_b[i]);
        }
    }
    return x;
}

double nn_mlp_flops(const nn_mlp *m, int n) {
    double f = 0.0;
    for (int i = 0; i < m->n_layers; i++) f += 2.0 * n * m->W[i]->n * m->W[i]->d;
    return f;
}

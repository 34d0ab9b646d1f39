// A trained PWM policy: the world model's encoder and the actor of a PWM checkpoint, for
// evaluation, rollouts and loss landscapes (pwm.h), loaded like any learner's (policy.h).
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "pwm_internal.h"

pwm_policy *pwm_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    lrn_policy *p = lrn_policy_load(ckpt, env, err, errlen);
    if (p && !p->in.w) {
        nn_err(err, errlen, "%s: not a PWM checkpoint (its policy has no world model)", ckpt);
        lrn_policy_free(p);
        p = NULL;
    }
    return p;
}

void pwm_policy_free(pwm_policy *p) { lrn_policy_free(p); }

nn_params *pwm_policy_params(pwm_policy *p) { return &p->ap; }

double pwm_policy_return(pwm_policy *p, const double *obs, int n, int H, int model, const ph_config *physics,
                         long seed) {
    int A = p->act.act_dim;
    double *u = nn_malloc(sizeof(double) * n * A), total = 0;
    if (!model) {
        // the real task from the same start states (same seed), deterministic actions; an
        // environment's sum stops at its episode's end
        char err[256];
        env_batch *e = env_batch_new(env_find(p->env), physics, NULL, n, (unsigned long)seed, 0, err, sizeof err);
        nn_check(e, "landscape: %s", err);
        unsigned char *done = nn_malloc((size_t)n);
        memset(done, 0, (size_t)n);
        for (int t = 0; t < H; t++) {
            lrn_policy_forward(p->g, &p->in, &p->act, e->obs, n, NULL, u);
            env_step(e, u, 0);
            for (int i = 0; i < n; i++) {
                if (!done[i]) total += e->rew[i];
                done[i] |= e->term[i] || e->trunc[i];
            }
        }
        nn_free(done);
        env_batch_free(e);
    } else {
        // the world model from the encoded start observations: the model's rewards in task units
        nn_graph *g = p->g;
        nn_graph_reset(g);
        nn_graph_set_no_grad(g, 1);
        nn_tensor *o = nn_tensor_new(g, n, p->w.c.obs_dim, 0);
        for (int i = 0; i < n * p->w.c.obs_dim; i++) o->x[i] = (float)obs[i];
        nn_tensor *z = wm_encode(g, &p->w, o, NULL);
        for (int t = 0; t < H; t++) {
            nn_tensor *a = actor_forward(g, &p->act, z, NULL);
            nn_tensor *r = wm_reward(g, &p->w, z, a, NULL);
            for (int i = 0; i < n; i++) total += nn_rms_unnormalize(&p->rew_rms, r->x[i], 0);
            z = wm_dynamics(g, &p->w, z, a, NULL);
        }
        nn_graph_set_no_grad(g, 0);
    }
    nn_free(u);
    return total / n;
}

// A trained PWM policy: the world model's encoder and the actor of a PWM checkpoint, for
// evaluation, rollouts and loss landscapes (pwm.h), loaded like any learner's (policy.h).
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "pwm_internal.h"

struct pwm_policy {
    char env[64];
    world_model w;
    nn_rms rew_rms;  // the model's reward statistics (its rewards in task units)
    nn_params ap;
    actor act;
    nn_graph *g;
    float *eps;
    int cap;
};

// the deterministic (eps NULL) or sampled actions of the policy on its encoder's latents
static void det_forward(pwm_policy *p, const double *obs, int n, const float *eps, double *u) {
    lrn_input in = {.w = &p->w, .obs_dim = p->w.c.obs_dim};
    lrn_policy_forward(p->g, &in, &p->act, obs, n, eps, u);
}

pwm_policy *pwm_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    int au[LRN_MAX_UNITS], na;
    const env_task *t = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen);
    pwm_policy *p = NULL;
    char msg[512];
    if (t) {
        p = nn_malloc(sizeof *p);
        memset(p, 0, sizeof *p);
        snprintf(p->env, sizeof p->env, "%s", t->name);
        nn_rms_init(&p->rew_rms, 1, 1e-5f, 5.0f);
        if (wm_read(&f, &p->w, NULL, &p->rew_rms, NULL, ckpt, err, errlen)) {
            nn_rms_free(&p->rew_rms);
            nn_free(p);
            p = NULL;
        } else {
            nn_params_init(&p->ap, 0);
            actor_declare(&p->act, &p->ap, "actor.", p->w.c.latent, t->act_dim, au, na, NN_ACT_MISH);
            if (nn_ckpt_check_params(&f, "a/", &p->ap, NULL, msg, sizeof msg)) {
                nn_err(err, errlen, "%s: %s", ckpt, msg);
                pwm_policy_free(p);
                p = NULL;
            } else {
                nn_params_alloc(&p->ap);
                nn_ckpt_read_params(&f, "a/", &p->ap, NULL);
                p->g = nn_graph_new(1 << 20);
            }
        }
    }
    st_free(&f);
    return p;
}

const char *pwm_policy_env(const pwm_policy *p) { return p->env; }

void pwm_policy_act(pwm_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    det_forward(p, obs, n, lrn_noise(&p->eps, &p->cap, n, p->act.act_dim, r), u);
}

void pwm_policy_free(pwm_policy *p) {
    if (!p) return;
    wm_free(&p->w);
    nn_rms_free(&p->rew_rms);
    nn_params_free(&p->ap);
    nn_graph_free(p->g);
    nn_free(p->eps);
    nn_free(p);
}

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
            det_forward(p, e->obs, n, NULL, u);
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

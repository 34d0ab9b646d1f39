// A trained policy of the learner (lrn.h): the actor of a SHAC or PWM checkpoint behind the input
// map its preset chose (normalised observations, or the encoder of its world model).
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "lrn.h"
#include "pwm.h"

lrn_policy *lrn_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    int au[LRN_MAX_UNITS], na;
    const env_task *t = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen);
    if (!t) {
        st_free(&f);
        return NULL;
    }
    // PWM's checkpoints carry their world model: the actor reads its latents (Mish networks);
    // SHAC's their observation statistics (ELU networks)
    const char *format = st_meta(&f, "format");
    int latent = format && !strcmp(format, PWM_CKPT_FORMAT), D = t->obs_dim;
    lrn_policy *p = nn_malloc(sizeof *p);
    memset(p, 0, sizeof *p);
    snprintf(p->env, sizeof p->env, "%s", t->name);
    nn_rms_init(&p->rew_rms, 1, 1e-5f, 5.0f);
    nn_rms_init(&p->rms, t->obs_dim, 1e-5f, 0.0f);
    p->in = latent ? (lrn_input){.w = &p->w, .obs_dim = t->obs_dim} : (lrn_input){.rms = &p->rms, .obs_dim = t->obs_dim};
    char msg[512];
    int rc = latent ? wm_read(&f, &p->w, NULL, &p->rew_rms, NULL, ckpt, err, errlen) : 0;
    if (rc == 0) {
        if (latent) D = p->w.c.latent;
        nn_params_init(&p->ap, 0);
        actor_declare(&p->act, &p->ap, "actor.", D, t->act_dim, au, na, latent ? NN_ACT_MISH : NN_ACT_ELU);
        // the shapes are checked against the file before anything of their size is allocated
        if (nn_ckpt_check_params(&f, lrn_policy_prefix(&f), &p->ap, NULL, msg, sizeof msg) ||
            (!latent && nn_ckpt_check_rms(&f, "obs_rms.", &p->rms, msg, sizeof msg))) {
            rc = nn_err(err, errlen, "%s: %s", ckpt, msg);
        } else {
            nn_params_alloc(&p->ap);
            nn_ckpt_read_params(&f, lrn_policy_prefix(&f), &p->ap, NULL);
            if (!latent) nn_ckpt_read_rms(&f, "obs_rms.", &p->rms);
            p->g = nn_graph_new(1 << 20);
        }
    }
    st_free(&f);
    if (rc) {
        lrn_policy_free(p);
        return NULL;
    }
    return p;
}

const char *lrn_policy_env(const lrn_policy *p) { return p->env; }

void lrn_policy_act(lrn_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    lrn_policy_forward(p->g, &p->in, &p->act, obs, n, lrn_noise(&p->eps, &p->cap, n, p->act.act_dim, r), u);
}

void lrn_policy_free(lrn_policy *p) {
    if (!p) return;
    if (p->w.p.values) wm_free(&p->w);
    nn_rms_free(&p->rew_rms), nn_rms_free(&p->rms);
    nn_params_free(&p->ap);
    nn_graph_free(p->g);
    nn_free(p->eps);
    nn_free(p);
}

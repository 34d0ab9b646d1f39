// pwm diagnose: a pwm train checkpoint's networks (its layout: pwm.c's save_checkpoint).
#include <stdlib.h>
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "learner.h"
#include "pwm_diagnose.h"

#define PWM_FORMAT "pwm-pwm-1"

// the world model and its reward statistics from f (a PWM checkpoint or a pwm wm train file)
static int read_model(pwm_diag_loaded *L, const char *path, char *err, size_t errlen) {
    st_file f;
    if (st_read(path, &f, err, errlen)) return -1;
    const char *fmt = st_meta(&f, "format");
    int rc = fmt && (!strcmp(fmt, PWM_FORMAT) || !strcmp(fmt, "pwm-worldmodel-1"))
                 ? wm_read(&f, &L->w, NULL, &L->rew_rms, NULL, path, err, errlen)
                 : nn_err(err, errlen, "%s: neither a world model (pwm wm train) nor a PWM checkpoint (format %s)",
                          path, fmt ? fmt : "missing");
    st_free(&f);
    return rc;
}

int pwm_diag_load(pwm_diag_loaded *L, const char *ckpt, const char *wm_file, const char *env, double gamma,
                  const ph_config *physics, char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    nn_rms_init(&L->rew_rms, 1, 1e-5f, 5.0f);
    nn_params_init(&L->ap, 0), nn_params_init(&L->cp, 0);
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return -1;
    const char *fmt = st_meta(&f, "format"), *cu = st_meta(&f, "critic_units"), *nc = st_meta(&f, "critics");
    const char *lat = st_meta(&f, "latent");
    int au[LRN_MAX_UNITS], cw[LRN_MAX_UNITS], na, ncu = cu ? lrn_parse_units(cu, cw) : -1, K = nc ? atoi(nc) : 0;
    char msg[512];
    int rc = -1;
    if (!fmt || strcmp(fmt, PWM_FORMAT)) {
        nn_err(err, errlen, "%s: not a PWM checkpoint (format %s); pwm diagnose needs one written by pwm train (a "
               "SHAC policy has no world model or critics on latents)", ckpt, fmt ? fmt : "missing");
    } else if (!(L->task = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen))) {
    } else if (ncu < 1 || K < 1 || K > PWM_DIAG_MAX_CRITICS || !lat) {
        nn_err(err, errlen, "%s: its critics metadata (critics, critic_units) or model latent is missing or bad", ckpt);
    } else if (wm_file ? read_model(L, wm_file, err, errlen) : wm_read(&f, &L->w, NULL, &L->rew_rms, NULL, ckpt, err, errlen)) {
    } else if (L->w.c.latent != atoi(lat)) {
        nn_err(err, errlen, "%s has latent %d, but the policy in %s acts on latent %d: give a model of the same size",
               wm_file, L->w.c.latent, ckpt, atoi(lat));
    } else {
        int Z = L->w.c.latent;
        actor_declare(&L->act, &L->ap, "actor.", Z, L->task->act_dim, au, na, NN_ACT_MISH);
        nn_params_alloc(&L->ap);
        nn_mlp_spec cs;
        pwm_critic_spec(&cs, Z, cw, ncu);
        for (int k = 0; k < K; k++) {
            char name[32];
            snprintf(name, sizeof name, "critic%d", k);
            nn_mlp_declare(&L->critics[k], &L->cp, name, &cs);
        }
        nn_params_alloc(&L->cp);
        if (nn_ckpt_check_params(&f, lrn_policy_prefix(&f), &L->ap, NULL, msg, sizeof msg) ||
            nn_ckpt_check_params(&f, "c/", &L->cp, NULL, msg, sizeof msg)) {
            nn_err(err, errlen, "%s: %s", ckpt, msg);
        } else {
            nn_ckpt_read_params(&f, lrn_policy_prefix(&f), &L->ap, NULL);
            nn_ckpt_read_params(&f, "c/", &L->cp, NULL);
            L->nets = (pwm_diag_nets){&L->w, &L->rew_rms, &L->act, L->critics, K, gamma, L->task, physics};
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

void pwm_diag_unload(pwm_diag_loaded *L) {
    if (L->w.p.values) wm_free(&L->w);
    nn_rms_free(&L->rew_rms);
    nn_params_free(&L->ap), nn_params_free(&L->cp);
}

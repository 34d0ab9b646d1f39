#include "policy.h"

#include <string.h>

#include "../nn/common.h"
#include "../nn/safetensors.h"
#include "lrn.h"
#include "ppo.h"
#include "pwm.h"
#include "shac.h"

struct trained_policy {
    lrn_policy *lrn;  // SHAC's or PWM's
    ppo_policy *ppo;
};

trained_policy *policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    const char *format = st_meta(&f, "format");
    int is_pwm = format && !strcmp(format, PWM_CKPT_FORMAT), is_shac = format && !strcmp(format, SHAC_CKPT_FORMAT);
    int is_ppo = format && !strcmp(format, PPO_CKPT_FORMAT);
    if (!is_pwm && !is_shac && !is_ppo)
        nn_err(err, errlen, "%s: not a policy checkpoint of this program (format '%.40s', want %s, %s or %s); give a "
               "best/final/ckpt.safetensors of pwm shac, pwm train or pwm ppo", ckpt, format ? format : "missing",
               SHAC_CKPT_FORMAT, PWM_CKPT_FORMAT, PPO_CKPT_FORMAT);
    st_free(&f);
    if (!is_pwm && !is_shac && !is_ppo) return NULL;
    trained_policy p = {0};
    if (is_ppo) p.ppo = ppo_policy_load(ckpt, env, err, errlen);
    else p.lrn = lrn_policy_load(ckpt, env, err, errlen);
    if (!p.lrn && !p.ppo) return NULL;
    trained_policy *q = nn_malloc(sizeof *q);
    *q = p;
    return q;
}

const char *policy_env(const trained_policy *p) {
    return p->ppo ? ppo_policy_env(p->ppo) : lrn_policy_env(p->lrn);
}

void policy_act(trained_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    if (p->ppo) ppo_policy_act(p->ppo, obs, n, u, r);
    else lrn_policy_act(p->lrn, obs, n, u, r);
}

void policy_free(trained_policy *p) {
    if (!p) return;
    lrn_policy_free(p->lrn);
    ppo_policy_free(p->ppo);
    nn_free(p);
}

static void act_det(void *ctx, const double *obs, int n, double *u) { policy_act(ctx, obs, n, u, NULL); }

int policy_evaluate(const char *env, const char *ckpt, int episodes, long seed, const ph_config *physics, double *mean,
                    double *std, char *err, size_t errlen) {
    trained_policy *p = policy_load(ckpt, env, err, errlen);
    if (!p) return -1;
    int rc = lrn_evaluate(policy_env(p), episodes, seed, physics, act_det, p, mean, std, 1, err, errlen);
    policy_free(p);
    return rc;
}

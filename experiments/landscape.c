#include "landscape.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../nn/rng.h"
#include "../policy/pwm.h"
#include "results.h"

#define MAX_H 8

// a random direction in p's layout, filter-normalised (Li et al. 2018): each row of a weight
// matrix is a standard normal vector scaled to that row's norm in the weights; vectors (biases,
// LayerNorm, log-std) get no component
static void direction(const nn_params *p, nn_rng *r, float *d) {
    memset(d, 0, sizeof(float) * p->count);
    for (int k = 0; k < p->n; k++) {
        const nn_param *e = &p->list[k];
        if (e->ndim != 2) continue;
        for (int i = 0; i < e->t.n; i++) {
            const float *w = p->values + e->offset + (size_t)i * e->t.d;
            float *di = d + e->offset + (size_t)i * e->t.d;
            double nw = 0, nd = 0;
            for (int j = 0; j < e->t.d; j++) di[j] = nn_rng_normal(r), nd += di[j] * di[j], nw += w[j] * w[j];
            double s = nd > 0 ? sqrt(nw / nd) : 0;
            for (int j = 0; j < e->t.d; j++) di[j] = (float)(di[j] * s);
        }
    }
}

int landscape_run(const landscape_config *c, const char *command) {
    char dir[1024], err[1024];
    if (!c->policy) return fprintf(stderr, "pwm experiment landscape: --policy CKPT (a PWM checkpoint) is required\n"), 2;
    pwm_policy *pol = pwm_policy_load(c->policy, "hopper", err, sizeof err);
    if (!pol) return fprintf(stderr, "pwm experiment landscape: %s\n", err), 1;
    if (res_dir(dir, sizeof dir, "landscape", c->out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment landscape: %s\n", err);
        pwm_policy_free(pol);
        return 1;
    }
    int paper = !strcmp(c->preset, "paper");
    int n1 = paper ? 101 : 41, n2 = paper ? 41 : 15, starts = paper ? 32 : 8;
    int hs[MAX_H] = {4, 16, 64}, nh = 3;
    if (paper) nh = 5, hs[0] = 4, hs[1] = 8, hs[2] = 16, hs[3] = 32, hs[4] = 64;
    nn_params *p = pwm_policy_params(pol);
    float *theta = nn_malloc(sizeof(float) * p->count), *d1 = nn_malloc(sizeof(float) * p->count);
    float *d2 = nn_malloc(sizeof(float) * p->count);
    memcpy(theta, p->values, sizeof(float) * p->count);
    nn_rng r;
    nn_rng_init(&r, (uint64_t)c->seed, 31);
    direction(p, &r, d1);
    direction(p, &r, d2);
    // the start states: a batch seeded by the experiment's seed (the true returns use the same)
    ph_config phys = ph_config_default();
    int rc = 1;
    FILE *f1 = NULL, *f2 = NULL;
    env_batch *e = env_batch_new(env_find("hopper"), &phys, NULL, starts, (unsigned long)c->seed, 0, err, sizeof err);
    if (!e) {
        fprintf(stderr, "pwm experiment landscape: %s\n", err);
        goto out;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/landscape_1d.csv", dir);
    f1 = fopen(path, "w");
    snprintf(path, sizeof path, "%s/landscape_2d.csv", dir);
    f2 = fopen(path, "w");
    if (!f1 || !f2) {
        fprintf(stderr, "pwm experiment landscape: cannot write in %s\n", dir);
        goto out;
    }
    fprintf(f1, "horizon,alpha,true_return,model_return\n");
    fprintf(f2, "horizon,alpha,beta,true_return,model_return\n");
    double t0 = nn_now();
    long total = (long)nh * (n1 + (long)n2 * n2), done = 0;
    for (int k = 0; k < nh; k++) {
        for (int i = 0; i < n1; i++) {
            double a = -1 + 2.0 * i / (n1 - 1);
            for (size_t j = 0; j < p->count; j++) p->values[j] = theta[j] + (float)a * d1[j];
            double tr = pwm_policy_return(pol, e->obs, starts, hs[k], 0, &phys, c->seed);
            double mr = pwm_policy_return(pol, e->obs, starts, hs[k], 1, &phys, c->seed);
            fprintf(f1, "%d,%.4f,%.6g,%.6g\n", hs[k], a, tr, mr);
            nn_progress("landscape", ++done, total, t0);
        }
        fprintf(f1, "\n\n");  // one gnuplot data block per horizon
        for (int i = 0; i < n2; i++) {
            for (int i2 = 0; i2 < n2; i2++) {
                double a = -1 + 2.0 * i / (n2 - 1), b = -1 + 2.0 * i2 / (n2 - 1);
                for (size_t j = 0; j < p->count; j++) p->values[j] = theta[j] + (float)a * d1[j] + (float)b * d2[j];
                double tr = pwm_policy_return(pol, e->obs, starts, hs[k], 0, &phys, c->seed);
                double mr = pwm_policy_return(pol, e->obs, starts, hs[k], 1, &phys, c->seed);
                fprintf(f2, "%d,%.4f,%.4f,%.6g,%.6g\n", hs[k], a, b, tr, mr);
                nn_progress("landscape", ++done, total, t0);
            }
            fprintf(f2, "\n");
        }
        fprintf(f2, "\n");
    }
    fclose(f1), fclose(f2);
    f1 = f2 = NULL;
    memcpy(p->values, theta, sizeof(float) * p->count);
    for (int k = 0; k < nh; k++) {
        char vars[1600];
        snprintf(vars, sizeof vars, "dir='%s'; block=%d; H=%d", dir, k, hs[k]);
        res_gnuplot("landscape.gp", vars);
    }
    char seeds[96];
    snprintf(seeds, sizeof seeds, "%ld (directions and the %d start states)", c->seed, starts);
    FILE *sm = res_summary_open(dir, "Loss landscapes of a PWM Hopper policy: MuJoCo vs its world model", command,
                                seeds, nn_now() - t0);
    if (sm) {
        fprintf(sm, "\nPolicy: `%s`. The mean H-step return (undiscounted) of the deterministic policy from %d start "
                "states along two random filter-normalised directions d1, d2 in the actor's weight matrices "
                "(rows scaled to the weights' row norms; biases, LayerNorm and log-std fixed): 1-D θ + α·d1, α in "
                "[-1, 1] (%d points); 2-D θ + α·d1 + β·d2 (%d × %d). True: MuJoCo, each episode's sum stopping at its "
                "end. Model: the policy's own world model from the encoded start observations, its rewards "
                "de-normalised to task units, no termination. Horizons:", c->policy, starts, n1, n2, n2);
        for (int k = 0; k < nh; k++) fprintf(sm, " %d", hs[k]);
        fprintf(sm, ". Files: landscape_1d.csv, landscape_2d.csv, and per horizon H: landscape_1d_HH.png, "
                "landscape_2d_HH.png.\n");
        fclose(sm);
    }
    printf("landscape: %s/summary.md\n", dir);
    rc = 0;
out:
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    env_batch_free(e);
    nn_free(theta), nn_free(d1), nn_free(d2);
    pwm_policy_free(pol);
    return rc;
}

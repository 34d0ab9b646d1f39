// pwm diagnose --sources: PWM's three actor-gradient sources (true, model, hybrid) at one run
// state, each rebuilt from the run's checkpoint as --resume rebuilds it, their gradients sampled
// over the same noise streams (pwm_diagnose.h; docs/pwm.md, "Diagnosing a run").
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/stats.h"
#include "pwm_diagnose.h"
#include "pwm_internal.h"

// the order of the table: the truth first
static const int order[PWM_SRC_N] = {PWM_GRADIENT_TRUE, PWM_GRADIENT_MODEL, PWM_GRADIENT_HYBRID};

// the K gradients of source `gradient` into r (its figures but the cosines)
static int sample(const pwm_config *run, int gradient, const char *ckpt, const pwm_src_config *dc, pwm_src_result *r,
                  char *err, size_t errlen) {
    pwm_config c = *run;
    c.gradient = gradient, c.diagnose_every = 0;
    if (gradient != PWM_GRADIENT_MODEL) c.closed_loop = 0, c.critic_data = PWM_CRITIC_MODEL;  // implied by true and hybrid
    // no run directory: no online data recorded, nothing of the run's files touched
    lrn_setup setup = {NULL, dc->threads, 0, NULL};
    lrn_learner *L = pwm_make(&c, &setup, err, errlen);
    if (!L) return -1;
    pwm *s = L->src_state;
    if (r->count && r->count != L->ap.count) {
        nn_err(err, errlen, "the %s source's actor has %zu parameters, another's %zu", pwm_gradient_name(gradient),
               L->ap.count, r->count);
        lrn_destroy(L);
        return -1;
    }
    size_t P = r->count = L->ap.count;
    double *G = r->grad[gradient] = nn_malloc(sizeof(double) * dc->K * P);
    r->loss[gradient] = r->norm[gradient] = r->secs[gradient] = 0;
    for (int k = 0; k < dc->K; k++) {
        // the run's state again, every time: nothing of one window reaches the next
        if (lrn_load(L, ckpt, err, errlen)) {
            lrn_destroy(L);
            return -1;
        }
        r->epoch = L->pr.epoch;
        s->freeze_ret = 1;
        L->pr.epoch += 1 + (dc->noise ? dc->noise[k] : k);  // the windows' noise stream (seed, epoch)
        double t0 = nn_now();
        float loss = L->src->window(L, s);
        double t = nn_now() - t0, n2 = 0;
        for (size_t i = 0; i < P; i++) G[k * P + i] = L->ap.grads[i], n2 += G[k * P + i] * G[k * P + i];
        r->loss[gradient] += loss / dc->K, r->norm[gradient] += sqrt(n2) / dc->K, r->secs[gradient] += t / dc->K;
    }
    lrn_destroy(L);
    nn_esnr(G, dc->K, P, &r->var[gradient], &r->esnr[gradient]);
    return 0;
}

int pwm_diag_sources(const pwm_config *run, const char *ckpt, const pwm_src_config *dc, pwm_src_result *r, char *err,
                     size_t errlen) {
    memset(r, 0, sizeof *r);
    r->K = dc->K;
    if (dc->K < 2) return nn_err(err, errlen, "need 2 or more noise seeds (a variance needs two samples)");
    for (int k = 0; dc->noise && k < dc->K; k++)
        if (dc->noise[k] < 0) return nn_err(err, errlen, "noise stream %ld: streams are >= 0", dc->noise[k]);
    if (run->offline)
        return nn_err(err, errlen, "%s is an offline run: the true and hybrid sources need its real environments", ckpt);
    for (int q = 0; q < PWM_SRC_N; q++)
        if (sample(run, order[q], ckpt, dc, r, err, errlen)) return pwm_src_result_free(r), -1;
    // cosines: of the mean gradients, and the mean of those at the same noise
    size_t P = r->count;
    double *mean = nn_malloc(sizeof(double) * PWM_SRC_N * P);
    for (int a = 0; a < PWM_SRC_N; a++)
        for (size_t i = 0; i < P; i++) {
            double m = 0;
            for (int k = 0; k < r->K; k++) m += r->grad[a][k * P + i];
            mean[a * P + i] = m / r->K;
        }
    for (int a = 0; a < PWM_SRC_N; a++)
        for (int b = 0; b < PWM_SRC_N; b++) {
            r->cos_mean[a][b] = nn_cosine(mean + a * P, mean + b * P, P);
            double cs = 0;
            for (int k = 0; k < r->K; k++) cs += nn_cosine(r->grad[a] + k * P, r->grad[b] + k * P, P) / r->K;
            r->cos_seed[a][b] = cs;
        }
    nn_free(mean);
    return 0;
}

void pwm_src_result_free(pwm_src_result *r) {
    for (int a = 0; a < PWM_SRC_N; a++) nn_free(r->grad[a]), r->grad[a] = NULL;
}

void pwm_src_print(FILE *f, const pwm_src_result *r) {
    fprintf(f, "actor gradients at epoch %ld, %d noise streams (the windows of epochs %ld on), %zu parameters\n",
            r->epoch, r->K, r->epoch + 1, r->count);
    fprintf(f, "%-7s %12s %12s %12s %12s %10s\n", "source", "loss", "grad_norm", "variance", "esnr", "seconds");
    for (int q = 0; q < PWM_SRC_N; q++) {
        int a = order[q];
        fprintf(f, "%-7s %12.5g %12.5g %12.5g %12.5g %10.4f\n", pwm_gradient_name(a), r->loss[a], r->norm[a], r->var[a],
                r->esnr[a], r->secs[a]);
    }
    fprintf(f, "cosines: of the mean gradients / mean over streams at the same noise\n%-7s", "");
    for (int q = 0; q < PWM_SRC_N; q++) fprintf(f, " %17s", pwm_gradient_name(order[q]));
    fprintf(f, "\n");
    for (int q = 0; q < PWM_SRC_N; q++) {
        fprintf(f, "%-7s", pwm_gradient_name(order[q]));
        for (int p = 0; p < PWM_SRC_N; p++)
            fprintf(f, "  %7.4f / %7.4f", r->cos_mean[order[q]][order[p]], r->cos_seed[order[q]][order[p]]);
        fprintf(f, "\n");
    }
}

void pwm_src_write_csv(FILE *f, const pwm_src_result *r) {
    fprintf(f, "figure,source,other,value,count\n");
    const char *names[5] = {"loss", "grad_norm", "variance", "esnr", "seconds"};
    for (int q = 0; q < PWM_SRC_N; q++) {
        int a = order[q];
        double v[5] = {r->loss[a], r->norm[a], r->var[a], r->esnr[a], r->secs[a]};
        for (int j = 0; j < 5; j++) fprintf(f, "%s,%s,,%.9g,%d\n", names[j], pwm_gradient_name(a), v[j], r->K);
    }
    for (int q = 0; q < PWM_SRC_N; q++)
        for (int p = q + 1; p < PWM_SRC_N; p++) {
            int a = order[q], b = order[p];
            fprintf(f, "cos_mean,%s,%s,%.9g,%d\n", pwm_gradient_name(a), pwm_gradient_name(b), r->cos_mean[a][b], r->K);
            fprintf(f, "cos_seed,%s,%s,%.9g,%d\n", pwm_gradient_name(a), pwm_gradient_name(b), r->cos_seed[a][b], r->K);
        }
}

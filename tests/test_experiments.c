// The pedagogical experiments: the ball-wall table's figures, the ESNR statistic on a known case,
// and the double-pendulum policy gradients (true dynamics and world model) against central
// differences of the H-step return. And where the experiments find their gnuplot scripts.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../experiments/ball_wall_exp.h"
#include "../experiments/esnr.h"
#include "../experiments/results.h"
#include "../nn/common.h"
#include "../nn/stats.h"
#include "test.h"

TEST(ball_wall_table) {
    // the paper's settings, one seed, one thread (the models have a few hundred weights)
    int threads = nn_get_threads();
    nn_set_threads(1);
    bw_config c = bw_config_paper();
    bw_result r[2];
    for (int orig = 0; orig < 2; orig++) {
        c.reproduce_original = orig;
        bw_compute(&c, &r[orig]);
    }
    nn_set_threads(threads);
    for (int orig = 0; orig < 2; orig++) {
        const bw_row *t = &r[orig].row[BW_TRUE];
        CHECK_CLOSE(t->gap, 16.850, 0, 5e-4);
        CHECK(t->rmse == 0.0, "true error %g", t->rmse);
        // gradient descent on the true J from the left stalls on the plateau [−1.544, 0.116]
        CHECK(t->gd_theta > -1.6 && t->gd_theta < 0.11, "true GD ends at %g", t->gd_theta);
        CHECK_CLOSE(t->gd_gap, 16.850, 0, 5e-4);
        // every model fits to within a few metres
        for (int k = BW_RELU; k < BW_MODELS; k++) CHECK(r[orig].row[k].rmse < 5.0, "row %d error %g", k, r[orig].row[k].rmse);
    }
    // Adam at 2e-3 for 1700 steps cannot stretch the SimNorm decoder over J's 40 m range: a poor
    // fit. With the script's never-zeroed decoder gradients it fits, and its argmin is far lower
    // than the "ReLU" rows' (the paper: 1.131 / 3.473 vs 0.707 / 16.046)
    CHECK(r[0].row[BW_SIMNORM].rmse > 3.0, "SimNorm error %g", r[0].row[BW_SIMNORM].rmse);
    CHECK(r[1].row[BW_SIMNORM].rmse < 2.0, "SimNorm error %g (original)", r[1].row[BW_SIMNORM].rmse);
    CHECK(r[1].row[BW_SIMNORM].gap < 8.0 && r[1].row[BW_LN_MISH].gap > 12.0, "gaps %g, %g",
          r[1].row[BW_SIMNORM].gap, r[1].row[BW_LN_MISH].gap);
    // the ReLU rows do not depend on the flag
    CHECK(r[0].row[BW_RELU].rmse == r[1].row[BW_RELU].rmse, "ReLU row changed");
    for (int i = 0; i < 2; i++) bw_free(&r[i]);
}

TEST(esnr_statistic_known_case) {
    // parameter 0: always 1 (mean 1, variance 0); parameter 1: 0, 2, 0, 2 (mean 1, unbiased
    // variance 4/3): Var = (0 + 4/3)/2, ESNR = (1/1e-9 + 1/(4/3 + 1e-9))/2
    double g[4 * 2] = {1, 0, 1, 2, 1, 0, 1, 2}, var, esnr;
    nn_esnr(g, 4, 2, &var, &esnr);
    CHECK_CLOSE(var, 2.0 / 3.0, 1e-12, 0);
    CHECK_CLOSE(esnr, (1e9 + 1.0 / (4.0 / 3.0 + 1e-9)) / 2, 1e-12, 0);
}

// a small random world model (its reward head's last layer given weights: it starts at zero)
static void small_model(world_model *w) {
    wm_config c = {.obs_dim = 6, .act_dim = 1, .latent = 16, .enc_dim = 16, .enc_layers = 1, .mlp_dim = 16,
                   .activation = WM_SIMNORM};
    wm_init(w, &c, 3);
    nn_tensor *W = w->rew.W[w->rew.n_layers - 1];
    for (int i = 0; i < W->n * W->d; i++) W->x[i] = 0.3f * (float)sin(1.7 * i + 0.4);
    nn_params_set_frozen(&w->p, 1);
}

// central differences of −return in a few policy weights, the policy inputs held at the
// unperturbed rollout's (they enter through sg()), against the sampled gradient
static void check_against_differences(esnr_sampler *s, const world_model *w, int H, const float *eps) {
    int P = esnr_params(s), L = s->act.obs_dim;
    double *grad = nn_malloc(sizeof(double) * P), obs0[6] = {1, 0, 1, 0, 0, 0};
    float *z = nn_malloc(sizeof(float) * H * L);
    if (w) esnr_model_sample(s, w, obs0, 2.0, 0.5, H, eps, NULL, z, grad);
    else esnr_true_sample(s, H, eps, NULL, z, grad);
    double gnorm = 0;
    for (int k = 0; k < P; k++) gnorm = fmax(gnorm, fabs(grad[k]));
    CHECK(gnorm > 1e-6, "zero gradient at H = %d", H);
    for (int k = 0; k < P; k += P / 13 + 1) {
        // parameter k in the tensors' order
        int i = 0, off = k;
        while (off >= s->ap.list[i].t.n * s->ap.list[i].t.d) off -= s->ap.list[i].t.n * s->ap.list[i].t.d, i++;
        float *v = s->ap.list[i].t.x + off, keep = *v, x[2] = {keep + 1e-3f, keep - 1e-3f};
        double f[2];
        for (int j = 0; j < 2; j++) {
            *v = x[j];
            f[j] = -(w ? esnr_model_sample(s, w, obs0, 2.0, 0.5, H, eps, z, NULL, NULL)
                       : esnr_true_sample(s, H, eps, z, NULL, NULL));
        }
        *v = keep;
        CHECK_CLOSE(grad[k], (f[0] - f[1]) / ((double)x[0] - (double)x[1]), 2e-2, 2e-3 * gnorm);
    }
    nn_free(grad), nn_free(z);
}

TEST(gradients_match_differences) {
    int threads = nn_get_threads();
    nn_set_threads(1);
    world_model w;
    small_model(&w);
    char err[512];
    float eps[4] = {0.3f, -1.1f, 0.7f, 0.2f};
    for (int orig = 0; orig < 2; orig++) {
        esnr_sampler s;
        CHECK(esnr_sampler_init(&s, &w, "16,16", 1, 4, orig, err, sizeof err) == 0, "%s", err);
        // true dynamics: H = 1 (the post-step reward makes it non-zero) and H = 4
        for (int H = 1; H <= 4; H += 3) {
            if (orig && H == 1) {
                // the pre-step reward: the H = 1 return does not depend on the policy
                int P = esnr_params(&s);
                double *g = nn_malloc(sizeof(double) * P), mx = 0;
                esnr_true_sample(&s, 1, eps, NULL, NULL, g);
                for (int k = 0; k < P; k++) mx = fmax(mx, fabs(g[k]));
                nn_free(g);
                CHECK(mx == 0.0, "original H = 1 gradient %g", mx);
                continue;
            }
            if (!orig) check_against_differences(&s, NULL, H, eps);
        }
        if (!orig) check_against_differences(&s, &w, 4, eps);
        esnr_sampler_free(&s);
    }
    wm_free(&w);
    nn_set_threads(threads);
}

TEST(plot_scripts_found_or_named) {
    char *saved = getenv("PWM_PLOTS") ? strdup(getenv("PWM_PLOTS")) : NULL, gp[1200], dir[1100];
    // this binary's source tree: plots/compare.gp exists there
    unsetenv("PWM_PLOTS");
    res_plot_script(gp, sizeof gp, "compare.gp");
    CHECK(nn_file_exists(gp), "%s not found from the source tree", gp);
    // PWM_PLOTS wins; a folder without the script is refused before gnuplot runs
    snprintf(dir, sizeof dir, "%s/noplots", test_tmpdir());
    setenv("PWM_PLOTS", dir, 1);
    res_plot_script(gp, sizeof gp, "compare.gp");
    CHECK(!strcmp(gp, strcat(dir, "/compare.gp")), "PWM_PLOTS ignored: %s", gp);
    CHECK(res_gnuplot("compare.gp", "x=0") == -1, "a missing script was not refused");
    if (saved) setenv("PWM_PLOTS", saved, 1), free(saved);
    else unsetenv("PWM_PLOTS");
}

const test_case experiments_tests[] = {
    {"ball_wall_table", ball_wall_table},
    {"esnr_statistic_known_case", esnr_statistic_known_case},
    {"gradients_match_differences", gradients_match_differences},
    {"plot_scripts_found_or_named", plot_scripts_found_or_named},
    {0},
};

#include "ball_wall_exp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../envs/ball_wall.h"
#include "../nn/common.h"
#include "../nn/mlp.h"
#include "../nn/optim.h"
#include "results.h"

// the paper's numbers (pwm-paper-and-code.md §4(a)): model error, optimality gap
static const double paper_rmse[BW_MODELS] = {0.0, NAN, 0.707, 1.131};
static const double paper_gap[BW_MODELS] = {16.850, NAN, 16.046, 3.473};

bw_config bw_config_paper(void) {
    return (bw_config){.grid = 1000, .epochs = 100, .batch = 56, .lr = 2e-3, .seed = 0, .gd_steps = 2000, .gd_lr = 0.01};
}

const char *bw_kind_name(bw_kind k) {
    static const char *names[] = {"True", "ReLU (Linear+ReLU)", "ReLU (paper script: LN+Mish)", "SimNorm"};
    return names[k];
}

// ---------------------------------------------------------------------------------------------
// the models: PyTorch's default Linear init, LayerNorm weights 1 and biases 0 (the script never
// calls TD-MPC2's weight_init)

typedef struct {
    nn_params p;
    nn_mlp body, dec;
    int has_dec;
} bw_net;

static void net_init(bw_net *m, bw_kind k, nn_rng *r) {
    nn_mlp_spec s = {.in = 1, .out = 1, .n_hidden = 2, .hidden = {32, 32}, .act = NN_ACT_MISH,
                     .block = NN_BLOCK_NORM_ACT, .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    if (k == BW_RELU) s.act = NN_ACT_RELU, s.layernorm = 0;
    if (k == BW_SIMNORM) s.n_hidden = 1, s.out = 32, s.out_kind = NN_OUT_SIMNORM, s.simnorm_group = 8;
    nn_mlp_spec d = {.in = 32, .out = 1, .n_hidden = 0, .out_kind = NN_OUT_LINEAR};
    m->has_dec = k == BW_SIMNORM;
    nn_params_init(&m->p, 0);
    nn_mlp_declare(&m->body, &m->p, "body", &s);
    if (m->has_dec) nn_mlp_declare(&m->dec, &m->p, "decoder", &d);
    nn_params_alloc(&m->p);
    nn_mlp_init(&m->body, NN_INIT_TORCH, 0, r);
    if (m->has_dec) nn_mlp_init(&m->dec, NN_INIT_TORCH, 0, r);
}

static nn_tensor *net_forward(nn_graph *g, const bw_net *m, nn_tensor *x) {
    nn_tensor *y = nn_mlp_forward(g, &m->body, x);
    return m->has_dec ? nn_mlp_forward(g, &m->dec, y) : y;
}

static void zero_body_grads(bw_net *m) {
    for (int i = 0; i < m->p.n; i++)
        if (!strncmp(m->p.list[i].name, "body.", 5)) memset(m->p.list[i].t.g, 0, sizeof(float) * m->p.list[i].t.n * m->p.list[i].t.d);
}

// MSE on batches of points drawn with replacement (as the script's torch.randint); losses per step
static void net_fit(bw_net *m, const bw_config *c, const double *theta, const double *J, double *losses, nn_graph *g) {
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1);
    nn_adam opt = nn_adam_default();
    int B = c->batch, steps = c->epochs * (c->grid / c->batch);
    float x[B], y[B];
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < B; i++) {
            int k = (int)(nn_rng_uniform(&r) * c->grid);
            k = k < c->grid ? k : c->grid - 1;
            x[i] = (float)theta[k], y[i] = (float)J[k];
        }
        nn_graph_reset(g);
        // the script zeroes only the SimNorm body's gradients (model.zero_grad()): its decoder's
        // gradients accumulate over every step
        if (c->reproduce_original && m->has_dec) zero_body_grads(m);
        else nn_params_zero_grad(&m->p);
        nn_tensor *pred = net_forward(g, m, nn_tensor_from(g, x, B, 1, 0));
        nn_tensor *loss = nn_mean(g, nn_mse(g, pred, nn_tensor_from(g, y, B, 1, 0)));
        nn_backward(g, loss);
        nn_adam_step(&opt, &m->p, (float)c->lr);
        losses[s] = loss->x[0];
    }
}

// the model's value at θ and, when dv is non-NULL, its derivative in θ
static double net_value(const bw_net *m, double theta, double *dv, nn_graph *g) {
    nn_graph_reset(g);
    float t = (float)theta;
    nn_tensor *x = nn_tensor_from(g, &t, 1, 1, dv != NULL);
    nn_tensor *y = net_forward(g, m, x);
    if (dv) {
        nn_backward(g, y);
        *dv = x->g ? x->g[0] : 0.0;
    }
    return y->x[0];
}

// ---------------------------------------------------------------------------------------------
// the table

// gradient descent from θ0 on the true J (m NULL) or a model, projected onto [−π, π]
static double descend(const bw_net *m, const ball_wall *b, const bw_config *c, double theta, nn_graph *g) {
    for (int s = 0; s < c->gd_steps; s++) {
        double d;
        if (m) net_value(m, theta, &d, g);
        else ball_wall_J(b, theta, &d);
        theta = fmin(M_PI, fmax(-M_PI, theta - c->gd_lr * d));
    }
    return theta;
}

void bw_compute(const bw_config *c, bw_result *r) {
    memset(r, 0, sizeof *r);
    r->c = *c;
    int n = c->grid;
    r->steps = c->epochs * (c->grid / c->batch);
    r->theta = nn_malloc(sizeof(double) * n);
    r->J = nn_malloc(sizeof(double) * n);
    ball_wall b = ball_wall_default();
    r->J_star = INFINITY;
    for (int i = 0; i < n; i++) {
        r->theta[i] = -M_PI + 2 * M_PI * i / (n - 1);
        r->J[i] = ball_wall_J(&b, r->theta[i], NULL);
        if (r->J[i] < r->J_star) r->J_star = r->J[i], r->theta_star = r->theta[i];
    }
    nn_graph *g = nn_graph_new(1 << 20);
    // gradient descent starts at the grid's second point: −π itself is a stationary point (the
    // maximum) of the true J, whose gradient 20·sin θ vanishes there
    double theta0 = r->theta[1];
    for (int k = 0; k < BW_MODELS; k++) {
        r->pred[k] = nn_malloc(sizeof(double) * n);
        bw_net m;
        if (k == BW_TRUE) {
            memcpy(r->pred[k], r->J, sizeof(double) * n);
        } else {
            nn_rng init;
            nn_rng_init(&init, (unsigned long)c->seed, 0);
            net_init(&m, (bw_kind)k, &init);
            r->loss[k] = nn_malloc(sizeof(double) * r->steps);
            net_fit(&m, c, r->theta, r->J, r->loss[k], g);
            nn_graph_reset(g);
            nn_graph_set_no_grad(g, 1);
            float *x = nn_graph_alloc(g, sizeof(float) * n);
            for (int i = 0; i < n; i++) x[i] = (float)r->theta[i];
            nn_tensor *y = net_forward(g, &m, nn_tensor_from(g, x, n, 1, 0));
            for (int i = 0; i < n; i++) r->pred[k][i] = y->x[i];
            nn_graph_set_no_grad(g, 0);
            nn_params_set_frozen(&m.p, 1);
        }
        bw_row *row = &r->row[k];
        double se = 0;
        for (int i = 0; i < n; i++) se += (r->pred[k][i] - r->J[i]) * (r->pred[k][i] - r->J[i]);
        row->rmse = sqrt(se / n);
        // the paper's gap: True at the script's marked index 328 (θ = −1.079, on the plateau); the
        // "ReLU" rows at their argmin over the first half of the grid (θ < 0); SimNorm at its global argmin
        int lo = 0, hi = k == BW_SIMNORM ? n : n / 2, am = lo;
        if (k == BW_TRUE) am = (int)lround(328.0 * (n - 1) / 999.0);
        else
            for (int i = lo; i < hi; i++)
                if (r->pred[k][i] < r->pred[k][am]) am = i;
        row->gap = r->pred[k][am] - r->J_star;
        row->argmin_theta = r->theta[am];
        row->gd_theta = descend(k == BW_TRUE ? NULL : &m, &b, c, theta0, g);
        row->gd_gap = ball_wall_J(&b, row->gd_theta, NULL) - r->J_star;
        if (k != BW_TRUE) nn_params_free(&m.p);
    }
    nn_graph_free(g);
}

void bw_free(bw_result *r) {
    nn_free(r->theta), nn_free(r->J);
    for (int k = 0; k < BW_MODELS; k++) nn_free(r->pred[k]), nn_free(r->loss[k]);
    memset(r, 0, sizeof *r);
}

// ---------------------------------------------------------------------------------------------
// the experiment's files

static FILE *open_csv(const char *dir, const char *name, const char *header) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "pwm experiment ball-wall: cannot write %s\n", path);
    else fprintf(f, "%s\n", header);
    return f;
}

static int write_csvs(const char *dir, const bw_result *r, const bw_result *seeds, int nseeds) {
    FILE *f = open_csv(dir, "landscape.csv", "theta_rad,J_true,relu,ln_mish,simnorm");
    if (!f) return -1;
    for (int i = 0; i < r->c.grid; i++)
        fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f\n", r->theta[i], r->J[i], r->pred[BW_RELU][i], r->pred[BW_LN_MISH][i],
                r->pred[BW_SIMNORM][i]);
    fclose(f);
    if (!(f = open_csv(dir, "losses.csv", "step,relu,ln_mish,simnorm"))) return -1;
    for (int s = 0; s < r->steps; s++)
        fprintf(f, "%d,%.6g,%.6g,%.6g\n", s + 1, r->loss[BW_RELU][s], r->loss[BW_LN_MISH][s], r->loss[BW_SIMNORM][s]);
    fclose(f);
    // the landscape plot's markers: where gradient descent ends and the paper's argmin, with the
    // model's values there
    if (!(f = open_csv(dir, "markers.csv", "model,gd_end_theta_rad,gd_end_value,argmin_theta_rad,argmin_value"))) return -1;
    for (int k = 0; k < BW_MODELS; k++) {
        double th[2] = {r->row[k].gd_theta, r->row[k].argmin_theta};
        fprintf(f, "%d", k);
        for (int j = 0; j < 2; j++) {
            int i = (int)lround((th[j] + M_PI) / (2 * M_PI) * (r->c.grid - 1));
            fprintf(f, ",%.6f,%.6f", th[j], r->pred[k][i]);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    if (!(f = open_csv(dir, "table.csv",
                       "seed,model,rmse,gap,argmin_theta_rad,gd_end_theta_rad,gd_true_gap,paper_rmse,paper_gap")))
        return -1;
    for (int s = 0; s < nseeds; s++)
        for (int k = 0; k < BW_MODELS; k++) {
            const bw_row *w = &seeds[s].row[k];
            fprintf(f, "%ld,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f\n", seeds[s].c.seed, bw_kind_name((bw_kind)k), w->rmse,
                    w->gap, w->argmin_theta, w->gd_theta, w->gd_gap, paper_rmse[k], paper_gap[k]);
        }
    fclose(f);
    return 0;
}

static void print_table(FILE *f, const bw_result *r, int md) {
    const char *fmt = md ? "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %s |\n" : "%-30s %7.3f %8.3f %9.3f %9.3f %9.3f   %s\n";
    if (md)
        fprintf(f, "| model | error (RMSE) | optimality gap | argmin θ (rad) | GD end θ (rad) | true gap at GD end | paper (error / gap) |\n"
                   "|---|---|---|---|---|---|---|\n");
    else
        fprintf(f, "%-30s %7s %8s %9s %9s %9s   %s\n", "model", "error", "gap", "argmin", "GD end", "GD gap", "paper");
    for (int k = 0; k < BW_MODELS; k++) {
        const bw_row *w = &r->row[k];
        char paper[64] = "-";
        if (!isnan(paper_gap[k])) snprintf(paper, sizeof paper, "%.3f / %.3f", paper_rmse[k], paper_gap[k]);
        fprintf(f, fmt, bw_kind_name((bw_kind)k), w->rmse, w->gap, w->argmin_theta, w->gd_theta, w->gd_gap, paper);
    }
}

int bw_experiment(const bw_config *c, const char *preset, const char *out, const char *command) {
    char dir[1024], err[1024];
    if (res_dir(dir, sizeof dir, "ball-wall", out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment ball-wall: %s\n", err);
        return 1;
    }
    // the paper preset repeats the fit over 10 seeds (the FoRL-WM script's loop); quick: one seed
    int nseeds = !strcmp(preset, "paper") ? 10 : 1;
    double t0 = nn_now();
    // models of a few hundred weights: one thread (OpenMP's barriers cost more than the work)
    nn_set_threads(1);
    bw_result seeds[10];
    for (int s = 0; s < nseeds; s++) {
        bw_config cs = *c;
        cs.seed = c->seed + s;
        bw_compute(&cs, &seeds[s]);
    }
    const bw_result *r = &seeds[0];
    printf("ball-wall: J* = %.3f at theta = %.3f; seed %ld; %d x %d training steps per model\n", r->J_star,
           r->theta_star, c->seed, c->epochs, c->grid / c->batch);
    print_table(stdout, r, 0);
    if (write_csvs(dir, r, seeds, nseeds)) return 1;
    char vars[1400];
    snprintf(vars, sizeof vars, "dir='%s'; note='seed %ld%s'", dir, c->seed,
             c->reproduce_original ? ", --reproduce-original" : "");
    res_gnuplot("ball_wall.gp", vars);
    res_gnuplot("ball_wall_losses.gp", vars);
    char seedtxt[64];
    snprintf(seedtxt, sizeof seedtxt, nseeds > 1 ? "%ld..%ld" : "%ld", c->seed, c->seed + nseeds - 1);
    FILE *f = res_summary_open(dir, "Ball thrown at a wall: smoothness table and landscape", command, seedtxt,
                               nn_now() - t0);
    if (!f) return 1;
    fprintf(f, "Mode: %s.\n\n", c->reproduce_original
                   ? "--reproduce-original: as the paper's script, the SimNorm decoder's gradients are never zeroed "
                     "(its model.zero_grad() misses them), so they accumulate over the steps"
                   : "default: every gradient zeroed before each step (the paper's script never zeroes the SimNorm "
                     "decoder's: --reproduce-original)");
    fprintf(f, "Preset %s: %d grid points over [-pi, pi], Adam lr %g, batch %d drawn with replacement, %d epochs x %d "
               "steps; gradient descent %d steps of %g from theta = %.4f (the grid's second point), projected onto "
               "[-pi, pi].\n\nJ* = %.4f at theta = %.4f.\n\n## Seed %ld\n\n",
            preset, c->grid, c->lr, c->batch, c->epochs, c->grid / c->batch, c->gd_steps, c->gd_lr, r->theta[1],
            r->J_star, r->theta_star, c->seed);
    print_table(f, r, 1);
    fprintf(f, "\nError: RMSE of the model over the grid. Optimality gap (the paper's definition): the model's value at "
               "its argmin minus J*, the argmin over theta < 0 for the \"ReLU\" rows and global for SimNorm; for True "
               "the value at the script's marked index 328. GD end: where gradient descent on the model ends; true gap "
               "at GD end: J there minus J*.\n\n\"ReLU (Linear+ReLU)\" is a plain ReLU MLP (the FoRL-WM predecessor); "
               "\"ReLU (paper script: LN+Mish)\" is what the final paper script builds under that name (PWM's mlp(): "
               "Linear -> LayerNorm -> Mish hidden layers).\n");
    if (nseeds > 1) {
        fprintf(f, "\n## Over seeds %s (mean +- std)\n\n| model | error | optimality gap | true gap at GD end |\n|---|---|---|---|\n",
                seedtxt);
        for (int k = 0; k < BW_MODELS; k++) {
            double v[3][10], m[3], sd[3];
            for (int s = 0; s < nseeds; s++)
                v[0][s] = seeds[s].row[k].rmse, v[1][s] = seeds[s].row[k].gap, v[2][s] = seeds[s].row[k].gd_gap;
            for (int j = 0; j < 3; j++) res_mean_std(v[j], nseeds, &m[j], &sd[j]);
            fprintf(f, "| %s | %.3f +- %.3f | %.3f +- %.3f | %.3f +- %.3f |\n", bw_kind_name((bw_kind)k), m[0], sd[0],
                    m[1], sd[1], m[2], sd[2]);
        }
    }
    fprintf(f, "\nFiles: landscape.csv (J and the models on the grid), table.csv (every seed), losses.csv (training "
               "loss per step), markers.csv, landscape.png, losses.png.\n");
    fclose(f);
    for (int s = 0; s < nseeds; s++) bw_free(&seeds[s]);
    printf("%s/summary.md\n", dir);
    return 0;
}

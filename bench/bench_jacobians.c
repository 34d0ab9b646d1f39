// `pwm bench jacobians`: how large the recorded per-step Jacobians of a task get and how much a
// gradient grows when backpropagated through a window of them — the figures behind the contact
// impedance choice in docs/physics.md ("Contact activation").
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../nn/rng.h"
#include "../opts/args.h"
#include "../physics/diffstep.h"
#include "../physics/physics.h"
#include "../physics/physics_opts.h"
#include "bench.h"

static double norm(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s);
}

static const char jacobians_summary[] =
    "Steps --envs environments of a task under random actions (--action-scale x U(-1, 1)), recording\n"
    "windows of --horizon control steps as SHAC does, and prints per window: the largest entry of any\n"
    "recorded state Jacobian A = dx'/dx, and over the environments the median, 90th percentile and largest\n"
    "growth ||(A_h ... A_1)^T g|| / ||g|| of a random vector g backpropagated through the window (resets\n"
    "cut it, as in training). A contact force that jumps when a contact appears shows as entries of\n"
    "order jump / fd-eps and as growths of 1e3 and more.";

int bench_jacobians(int argc, char **argv) {
    const char *env = NULL, *model = NULL;
    int envs = 32, horizon = 16, windows = 6, threads = 0;
    long seed = 1;
    double scale = 0.3;
    physics_opts po;
    const args_opt opts[] = {
        {"env", ARG_STRING, &env, "task (see pwm envs)", NULL, "NAME"},
        {"model", ARG_STRING, &model, "another MJCF file for the task (default: the task's)", NULL, "FILE.xml"},
        {"envs", ARG_INT, &envs, "environments", NULL, "N"},
        {"horizon", ARG_INT, &horizon, "control steps per window", NULL, "H"},
        {"windows", ARG_INT, &windows, "windows to record and report", NULL, "W"},
        {"action-scale", ARG_DOUBLE, &scale, "actions are this times U(-1, 1)", NULL, "X"},
        {"seed", ARG_LONG, &seed, "seed of the start states, actions and probe vectors", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm bench jacobians --env NAME [options]", jacobians_summary, {opts, po.opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm bench jacobians");
    if (rc >= 0) return rc;
    const env_task *task = env ? env_find(env) : NULL;
    if (!task) return fprintf(stderr, "pwm bench jacobians: --env NAME is required (see pwm envs)\n"), 2;
    if (envs < 1 || horizon < 1 || windows < 1)
        return fprintf(stderr, "pwm bench jacobians: --envs, --horizon and --windows must be >= 1\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    char err[1024];
    env_batch *e = env_batch_new(task, &po.cfg, model, envs, (unsigned long)seed, horizon, err, sizeof err);
    if (!e) return fprintf(stderr, "pwm bench jacobians: %s\n", err), 1;
    env_batch_enable_grads(e);
    int nu = task->act_dim, nx = e->pm->nx;
    double *u = nn_malloc(sizeof(double) * envs * nu), *g = nn_malloc(sizeof(double) * envs * nx);
    double *gu = nn_malloc(sizeof(double) * (size_t)horizon * envs * nu), *g0 = nn_malloc(sizeof(double) * envs);
    double *gx0 = nn_malloc(sizeof(double) * envs * nx);
    const double **dldx = nn_malloc(sizeof(double *) * (horizon + 1));
    double **dldu = nn_malloc(sizeof(double *) * horizon);
    for (int t = 0; t < horizon; t++) dldx[t] = NULL, dldu[t] = gu + (size_t)t * envs * nu;
    dldx[horizon] = g;
    double *growth = nn_malloc(sizeof(double) * envs);
    nn_rng r;
    nn_rng_init(&r, (unsigned long)seed, 7);
    printf("%s (%s): %d environments, windows of %d control steps, actions %g x U(-1, 1), %s differences, eps %g\n",
           task->name, model ? model : "the task's model", envs, horizon, scale,
           e->pm->cfg.centered ? "central" : "forward", e->pm->cfg.fd_eps);
    printf("window,max_abs_A,growth_median,growth_p90,growth_max\n");
    double worst = 0;
    for (int w = 0; w < windows; w++) {
        ph_record_begin(e->b);
        for (int t = 0; t < horizon; t++) {
            for (int i = 0; i < envs * nu; i++) u[i] = scale * (2.0 * nn_rng_uniform(&r) - 1.0);
            env_step(e, u, 1);
        }
        double max_a = 0;
        for (size_t i = 0; i < (size_t)horizon * envs * nx * nx; i++) max_a = fmax(max_a, fabs(e->b->A[i]));
        for (int i = 0; i < envs * nx; i++) g[i] = 2.0 * nn_rng_uniform(&r) - 1.0;
        for (int k = 0; k < envs; k++) g0[k] = norm(g + (size_t)k * nx, nx);
        // g on the window's last state, back to its start (nothing crosses a reset)
        ph_backward(e->b, dldx, dldu, gx0);
        for (int k = 0; k < envs; k++) growth[k] = norm(gx0 + (size_t)k * nx, nx) / g0[k];
        qsort(growth, envs, sizeof *growth, nn_cmp_double);
        printf("%d,%.3g,%.3g,%.3g,%.3g\n", w, max_a, growth[envs / 2], growth[(int)(0.9 * envs)], growth[envs - 1]);
        worst = fmax(worst, max_a);
    }
    printf("largest Jacobian entry over %d windows: %.3g; physics blow-ups: %ld\n", windows, worst, e->blowups);
    nn_free(u), nn_free(g), nn_free(gu), nn_free(g0), nn_free(growth), nn_free(gx0), nn_free(dldx), nn_free(dldu);
    env_batch_free(e);
    return 0;
}

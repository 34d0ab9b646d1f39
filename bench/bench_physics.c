// `pwm bench physics`: control steps per second, plain and with recorded Jacobians, against the
// finite-difference lower bound and against MuJoCo's own mujoco-testspeed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../nn/rng.h"
#include "../opts/args.h"
#include "../physics/physics.h"
#include "../physics/physics_opts.h"
#include "bench.h"

typedef struct {
    const char *model, *env;
    int envs, steps, threads;
    double ctrl_noise;
} phys_bench_cfg;

// controls: ctrl_noise·N(0, 1) per actuator and step (as mujoco-testspeed), drawn up front
static double *make_controls(const ph_model *pm, int n, int steps, double noise) {
    double *u = nn_malloc(sizeof(double) * (size_t)steps * n * (pm->nu ? pm->nu : 1));
    nn_rng r;
    nn_rng_init(&r, 1, 0);
    for (size_t i = 0; i < (size_t)steps * n * pm->nu; i++) u[i] = noise * nn_rng_normal(&r);
    return u;
}

// seconds for `steps` control steps of every environment, from the model's default state
static double time_batch(const ph_model *pm, int n, int steps, const double *u, int record, int threads) {
    nn_set_threads(threads);
    ph_batch *b = ph_batch_new(pm, n, record ? steps : 0);
    ph_record_begin(b);
    ph_step(b, u, record);  // warm-up: first touch of memory and threads
    ph_record_begin(b);
    double t0 = nn_now();
    for (int t = 0; t < steps; t++) ph_step(b, u + (size_t)t * n * pm->nu, record);
    double dt = nn_now() - t0;
    if (b->blowups) fprintf(stderr, "note: %ld blow-ups during the benchmark\n", b->blowups);
    ph_batch_free(b);
    return dt;
}

// mujoco-testspeed's steps per second on the same model, threads and control noise (0 if absent)
static double testspeed(const char *model, int steps, int threads, double noise) {
    char cmd[1200], line[256];
    snprintf(cmd, sizeof cmd, "mujoco-testspeed '%s' %d %d %g 2>/dev/null", model, steps, threads, noise);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    // one thread prints "Steps per second", several also "Total steps per second"
    double sps = 0, total = 0;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, "Total steps per second")) sscanf(strchr(line, ':') + 1, "%lf", &total);
        else if (strstr(line, "Steps per second")) sscanf(strchr(line, ':') + 1, "%lf", &sps);
    }
    if (total > 0) sps = total;
    pclose(p);
    return sps;
}

static const char physics_summary[] =
    "Steps --envs copies of --model for --steps control steps with random controls (--ctrl-noise x N(0,1),\n"
    "as mujoco-testspeed), plain and with recorded Jacobians, on 1 thread and on --threads threads. Prints\n"
    "control steps/s, the mj_step calls one gradient step needs, the gradient step's time against that lower\n"
    "bound (calls x measured mj_step time), the speedup from threads, the Jacobian memory, and (when\n"
    "libmujoco-samples is installed) mujoco-testspeed against ph_rollout on the same model, both with zero\n"
    "controls from the default state (identical trajectories), for the plain stepping rate.";

int bench_physics(int argc, char **argv) {
    phys_bench_cfg c = {.model = NULL, .env = NULL, .envs = 0, .steps = 200, .threads = 0, .ctrl_noise = 0.01};
    physics_opts po;
    const args_opt opts[] = {
        {"model", ARG_STRING, &c.model, "MJCF model file (or --env)", NULL, "FILE.xml"},
        {"env", ARG_STRING, &c.env, "a task's model with its substeps (see pwm envs)", NULL, "NAME"},
        {"envs", ARG_INT, &c.envs, "environments (0: 4 per thread)", NULL, "N"},
        {"steps", ARG_INT, &c.steps, "control steps timed", NULL, "T"},
        {"threads", ARG_INT, &c.threads, "threads (0: all cores)", NULL, "T"},
        {"ctrl-noise", ARG_DOUBLE, &c.ctrl_noise, "controls: this times a standard normal", NULL, "X"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm bench physics (--model FILE.xml | --env NAME) [options]", physics_summary, {opts, po.opts}};
    char err[512];
    int rc = args_parse_command(&spec, argc, argv, "pwm bench physics");
    if (rc >= 0) return rc;
    const env_task *task = c.env ? env_find(c.env) : NULL;
    if (c.env && !task) return fprintf(stderr, "pwm bench physics: unknown task '%s' (see pwm envs)\n", c.env), 2;
    if (!c.model && !task) return fprintf(stderr, "pwm bench physics: --model FILE.xml or --env NAME is required\n"), 2;
    if (c.steps < 1) return fprintf(stderr, "pwm bench physics: --steps must be >= 1\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(c.threads);
    int threads = nn_get_threads(), n = c.envs > 0 ? c.envs : 4 * threads;
    char path[1100];
    if (task && !c.model) env_model_path(task, path, sizeof path);
    else snprintf(path, sizeof path, "%s", c.model);
    c.model = path;
    ph_model *pm = task ? env_load(task, &po.cfg, c.model, err, sizeof err) : ph_load(c.model, &po.cfg, err, sizeof err);
    if (!pm) return fprintf(stderr, "pwm bench physics: %s\n", err), 1;
    int K = pm->cfg.substeps;
    double *u = make_controls(pm, n, c.steps, c.ctrl_noise);

    printf("model %s: nq %d, nv %d, na %d, nu %d, nx %d; %d substeps of %g s; Jacobians: %s%s, %s differences\n",
           c.model, pm->nq, pm->nv, pm->na, pm->nu, pm->nx, K, pm->m->opt.timestep,
           pm->use_mjd ? "mjd_transitionFD" : "direct", pm->force_space ? " + generalised-force columns" : "",
           pm->cfg.centered ? "central" : "forward");
    printf("%d environments x %d control steps; %d threads\n", n, c.steps, threads);
    fflush(stdout);
    double plain1 = time_batch(pm, n, c.steps, u, 0, 1), plainT = time_batch(pm, n, c.steps, u, 0, threads);
    // mj_step time on the very trajectories the gradient run follows (recording does not change them)
    double t_step = plain1 / ((double)n * c.steps * K);
    double grad1 = time_batch(pm, n, c.steps, u, 1, 1), gradT = time_batch(pm, n, c.steps, u, 1, threads);
    double per = (double)n * c.steps, calls = (double)K * pm->calls_per_step;
    double bound = calls * t_step, grad_step = grad1 / per;

    printf("mj_step (1 thread)         %10.2f us   (mean over the plain run)\n", 1e6 * t_step);
    printf("plain control steps/s      %10.0f   (1 thread %.0f; speedup %.2fx on %d threads)\n", per / plainT,
           per / plain1, plain1 / plainT, threads);
    printf("gradient control steps/s   %10.0f   (1 thread %.0f; speedup %.2fx on %d threads; target >= 1.8x on 2)\n",
           per / gradT, per / grad1, grad1 / gradT, threads);
    printf("mj_step calls per gradient step %5.0f   (%d substeps x %d)\n", calls, K, pm->calls_per_step);
    printf("gradient step              %10.1f us = %.3f x the lower bound %.1f us (calls x mj_step; target <= 1.15)\n",
           1e6 * grad_step, grad_step / bound, 1e6 * bound);
    size_t jb = ph_jacobian_bytes(&(ph_batch){.pm = pm, .n = 1});
    printf("Jacobians per control step %10zu bytes per environment; 64 envs x 32 steps = %.1f MiB\n", jb,
           (double)jb * 64 * 32 / (1 << 20));
    // the same work as testspeed: one environment per thread stepping on its own (ph_rollout),
    // after a warm-up, for at least 20000 physics steps per thread, with zero controls on both
    // sides, so that both follow the very same trajectory from the model's default state
    int nstep = c.steps * K * 10 > 20000 ? c.steps * K * 10 : 20000;
    double ts = testspeed(c.model, nstep, threads, 0.0);
    if (ts > 0) {
        double *u1 = make_controls(pm, threads, nstep, 0.0);
        ph_config one = pm->cfg;
        one.substeps = 1;
        ph_model *pm1 = ph_load(c.model, &one, err, sizeof err);
        ph_batch *b1 = ph_batch_new(pm1, threads, 0);
        ph_rollout(b1, nstep / 10, u1);
        for (int e = 0; e < threads; e++) ph_set_state(b1, e, pm1->m->qpos0, NULL, NULL);
        double t0 = nn_now();
        ph_rollout(b1, nstep, u1);
        double ours = (double)threads * nstep / (nn_now() - t0);
        ph_batch_free(b1);
        printf("plain physics steps/s      %10.0f   vs mujoco-testspeed %.0f, zero controls (%+.1f%%; target within 10%%)\n",
               ours, ts, 100.0 * (ours - ts) / ts);
        ph_free(pm1);
        nn_free(u1);
    } else {
        printf("mujoco-testspeed not found (apt-get install libmujoco-samples) for the plain-stepping comparison\n");
    }
    nn_free(u);
    ph_free(pm);
    return 0;
}

// `pwm gradcheck`: the physics backward pass against central differences of whole rollouts.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "../physics/gradcheck.h"
#include "../physics/physics_opts.h"
#include "commands.h"

int cmd_gradcheck(int argc, char **argv) {
    const char *model = NULL;
    int threads = 0;
    double tol = 0;
    ph_gc_config gc = ph_gc_default();
    physics_opts po;
    const args_opt opts[] = {
        {"model", ARG_STRING, &model, "MJCF model file (required)", NULL, "FILE.xml"},
        {"steps", ARG_INT, &gc.steps, "control steps K of each rollout", NULL, "K"},
        {"trajectories", ARG_INT, &gc.trajectories, "independent random trajectories", NULL, "N"},
        {"seed", ARG_LONG, &gc.seed, "seed of the starts, controls and weights", NULL, "S"},
        {"rollout-eps", ARG_DOUBLE, &gc.rollout_eps, "perturbation of the whole-rollout central differences", NULL, "EPS"},
        {"state-noise", ARG_DOUBLE, &gc.state_noise, "starts: default state moved by U(-x, x) per tangent direction", NULL, "X"},
        {"action-scale", ARG_DOUBLE, &gc.action_scale, "controls: fraction of each control range used", NULL, "X"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {"tol", ARG_DOUBLE, &tol, "exit 1 if the median relative L2 error exceeds this (0: never)", NULL, "X"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {
        "pwm gradcheck --model FILE.xml [options]",
        "Backpropagates L = sum_t (c.pos_t + w.(qvel_t, act_t)) of K-step rollouts through the recorded\n"
        "finite-difference Jacobians to the start state and every control, and compares with central\n"
        "differences of whole rollouts. Prints, per trajectory, the most contacts seen, the max relative error\n"
        "and the relative L2 error. Contact-free models agree tightly; with contacts the error is measured.",
        {opts, po.opts}};
    char err[512];
    int rc = args_parse_command(&spec, argc, argv, "pwm gradcheck");
    if (rc >= 0) return rc;
    if (!model) return fprintf(stderr, "pwm gradcheck: --model FILE.xml is required (see --help)\n"), 2;
    if (gc.steps < 1 || gc.trajectories < 1 || gc.rollout_eps <= 0)
        return fprintf(stderr, "pwm gradcheck: --steps and --trajectories must be >= 1 and --rollout-eps > 0\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    ph_model *pm = ph_load(model, &po.cfg, err, sizeof err);
    if (!pm) return fprintf(stderr, "pwm gradcheck: %s\n", err), 1;

    printf("model %s: nq %d, nv %d, na %d, nu %d; %d substeps of %g s; Jacobians: %s%s, %s differences\n", model,
           pm->nq, pm->nv, pm->na, pm->nu, pm->cfg.substeps, pm->m->opt.timestep,
           pm->use_mjd ? "mjd_transitionFD" : "direct", pm->force_space ? " + generalised-force columns" : "",
           pm->cfg.centered ? "central" : "forward");
    ph_gc_traj *res = nn_malloc(sizeof(ph_gc_traj) * gc.trajectories);
    int bad = ph_gradcheck(pm, &gc, res);
    double *l2 = nn_malloc(sizeof(double) * gc.trajectories), worst = 0;
    printf("%-6s %9s %14s %14s\n", "traj", "contacts", "max rel err", "rel L2 err");
    for (int i = 0; i < gc.trajectories; i++) {
        printf("%-6d %9d %14.3e %14.3e%s\n", i, res[i].max_contacts, res[i].max_rel, res[i].rel_l2,
               res[i].blowups ? "  (blow-up: not meaningful)" : "");
        l2[i] = res[i].rel_l2;
        worst = res[i].max_rel > worst ? res[i].max_rel : worst;
    }
    qsort(l2, (size_t)gc.trajectories, sizeof(double), nn_cmp_double);
    double median = l2[gc.trajectories / 2];
    printf("K = %d steps: median rel L2 error %.3e, worst %.3e; max relative error %.3e\n", gc.steps, median,
           l2[gc.trajectories - 1], worst);
    int fail = bad || (tol > 0 && median > tol);
    if (tol > 0) printf("%s: median rel L2 error %s %g\n", fail ? "FAIL" : "ok", fail ? ">" : "<=", tol);
    nn_free(res);
    nn_free(l2);
    ph_free(pm);
    return fail;
}

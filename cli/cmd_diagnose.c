// `pwm diagnose`: why a PWM policy does or does not learn, measured on its own real states.
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../opts/args.h"
#include "../opts/rundir.h"
#include "../physics/physics_opts.h"
#include "../policy/pwm_diagnose.h"
#include "commands.h"

// --sources: the three gradient sources at the state of a pwm train run
typedef struct {
    const char *dir, *ckpt, *out;
    pwm_src_config c;
} sources_ctx;

static int sources_run(const pwm_config *c, void *ctx) {
    sources_ctx *x = ctx;
    char err[1024];
    printf("pwm diagnose --sources %s: a %s run (--gradient %s); the true, model and hybrid sources\n", x->dir, c->env,
           pwm_gradient_name(c->gradient));
    fflush(stdout);
    pwm_src_result r;
    if (pwm_diag_sources(c, x->ckpt, &x->c, &r, err, sizeof err)) return fprintf(stderr, "pwm diagnose: %s\n", err), 1;
    pwm_src_print(stdout, &r);
    int rc = 0;
    if (x->out) {
        FILE *f = fopen(x->out, "w");
        if (!f) {
            fprintf(stderr, "pwm diagnose: cannot write %s\n", x->out);
            rc = 1;
        } else {
            pwm_src_write_csv(f, &r);
            fclose(f);
            printf("figures written to %s\n", x->out);
        }
    }
    pwm_src_result_free(&r);
    return rc;
}

static int sources(const char *dir, const char *out, int K, int threads) {
    rundir_files P;
    rundir_files_of(&P, dir);
    if (!nn_file_exists(P.config) || !nn_file_exists(P.ckpt))
        return fprintf(stderr, "pwm diagnose: %s is not a pwm train run directory with a checkpoint (config.txt, "
                       "ckpt.safetensors)\n", dir), 1;
    sources_ctx x = {dir, P.ckpt, out, {.K = K, .threads = threads}};
    return train_run_config(dir, "pwm diagnose", sources_run, &x);
}

int cmd_diagnose(int argc, char **argv) {
    const char *policy = NULL, *env = NULL, *wm = NULL, *out = NULL, *run = NULL;
    double gamma = 0.99;
    int threads = 0, noise_seeds = 16;
    pwm_diag_config c = pwm_diag_defaults();
    physics_opts po;
    const args_opt opts[] = {
        {"policy", ARG_STRING, &policy, "a pwm train checkpoint (final, best or ckpt.safetensors)", NULL, "CKPT"},
        {"sources", ARG_STRING, &run, "instead: the true, model and hybrid actor gradients at the state of this pwm "
         "train run (its config.txt and ckpt.safetensors, nothing written there); with --noise-seeds, --out, --threads",
         NULL, "RUNDIR"},
        {"noise-seeds", ARG_INT, &noise_seeds, "--sources: noise streams per source", NULL, "K"},
        {"env", ARG_STRING, &env, "its task (see pwm envs)", NULL, "NAME"},
        {"wm", ARG_STRING, &wm, "diagnose the policy through this world model instead of the checkpoint's (pwm wm "
         "train file or another PWM checkpoint)", NULL, "FILE"},
        {"out", ARG_STRING, &out, "also write every figure as CSV rows figure,k,value,count (--sources: figure,source,other,value,count)", NULL, "FILE.csv"},
        {"seed", ARG_LONG, &c.seed, "seed of the environments and the closed loops' noise", NULL, "S"},
        {"episodes", ARG_INT, &c.episodes, "episodes (environments) of each closed loop", NULL, "N"},
        {"max-steps", ARG_INT, &c.max_steps, "stop each episode after N steps, as a time-out (0: the task's length)",
         NULL, "N"},
        {"k", ARG_INT, &c.K, "per-k figures for k = 1..K", NULL, "K"},
        {"horizon", ARG_INT, &c.H, "gradient horizon H, the actor objective's window and the training-time re-anchoring",
         NULL, "H"},
        {"long-horizon", ARG_INT, &c.H_long, "the long gradient horizon (the return stops at a fall)", NULL, "H"},
        {"grad-starts", ARG_INT, &c.grad_starts, "start states of the gradient cosines (each costs 2 x long-horizon x "
         "act_dim rollouts)", NULL, "N"},
        {"k-starts", ARG_INT, &c.k_starts, "at most this many start states for the per-k figures", NULL, "N"},
        {"action-eps", ARG_DOUBLE, &c.fd_eps, "central-difference step on the actions (true gradients)", NULL, "X"},
        {"gamma", ARG_DOUBLE, &gamma, "discount (the run's --gamma)", NULL, "X"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm diagnose --policy CKPT --env NAME [--wm FILE] [--out FILE.csv] [options]\n"
                      "       pwm diagnose --sources RUNDIR [--noise-seeds K] [--out FILE.csv] [--threads T]",
                      "Measures why a PWM policy does or does not learn, on the deterministic policy's own real\n"
                      "states: the world model's latent error against the true latent change, action drift and\n"
                      "reward bias per k; cosines of the model's action gradients with the true ones (central\n"
                      "differences through MuJoCo); the critic against Monte-Carlo returns, overall and near falls;\n"
                      "closed-loop against training-time returns; the latents' spread (effective rank). docs/pwm.md\n"
                      "(Diagnosing a run) defines each figure.\n"
                      "--sources RUNDIR: at a pwm train run's checkpoint, the actor loss's gradient of each source\n"
                      "(true, model, hybrid) over K noise streams: mean norm, variance, ESNR, wall time, and the\n"
                      "cosines between the sources' gradients.",
                      {opts, po.opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm diagnose");
    if (rc >= 0) return rc;
    if (run && policy) return fprintf(stderr, "pwm diagnose: give --sources RUNDIR or --policy CKPT, not both\n"), 2;
    if (run) return sources(run, out, noise_seeds, threads);
    if (!policy) return fprintf(stderr, "pwm diagnose: --policy CKPT is required (see pwm diagnose --help)\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    char err[1024];
    pwm_diag_loaded L;
    if (pwm_diag_load(&L, policy, wm, env, gamma, &po.cfg, err, sizeof err)) {
        pwm_diag_unload(&L);
        return fprintf(stderr, "pwm diagnose: %s\n", err), 1;
    }
    printf("pwm diagnose: %s on %s, world model %s (latent %d, rewards %s), %d critics, gamma %g\n", policy,
           L.task->name, wm ? wm : "of the checkpoint", L.w.c.latent, L.rew_rms.scale_only ? "r/std" : "(r - mean)/std",
           L.nets.ncritics, gamma);
    fflush(stdout);
    pwm_diag_result r;
    double t0 = nn_now();
    if (pwm_diagnose(&L.nets, &c, &r, err, sizeof err)) {
        pwm_diag_unload(&L);
        return fprintf(stderr, "pwm diagnose: %s\n", err), 1;
    }
    pwm_diag_print(stdout, &c, &r);
    printf("(%.1f s)\n", nn_now() - t0);
    rc = 0;
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "pwm diagnose: cannot write %s\n", out);
            rc = 1;
        } else {
            pwm_diag_write_long_csv(f, &r);
            fclose(f);
            printf("figures written to %s\n", out);
        }
    }
    pwm_diag_unload(&L);
    return rc;
}

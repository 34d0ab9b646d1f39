// `pwm diagnose`: why a PWM policy does or does not learn, measured on its own real states.
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../opts/args.h"
#include "../physics/physics_opts.h"
#include "../policy/pwm_diagnose.h"
#include "commands.h"

int cmd_diagnose(int argc, char **argv) {
    const char *policy = NULL, *env = NULL, *wm = NULL, *out = NULL;
    double gamma = 0.99;
    int threads = 0;
    pwm_diag_config c = pwm_diag_defaults();
    physics_opts po;
    const args_opt opts[] = {
        {"policy", ARG_STRING, &policy, "a pwm train checkpoint (final, best or ckpt.safetensors)", NULL, "CKPT"},
        {"env", ARG_STRING, &env, "its task (see pwm envs)", NULL, "NAME"},
        {"wm", ARG_STRING, &wm, "diagnose the policy through this world model instead of the checkpoint's (pwm wm "
         "train file or another PWM checkpoint)", NULL, "FILE"},
        {"out", ARG_STRING, &out, "also write every figure as CSV rows figure,k,value,count", NULL, "FILE.csv"},
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
    args_spec spec = {"pwm diagnose --policy CKPT --env NAME [--wm FILE] [--out FILE.csv] [options]",
                      "Measures why a PWM policy does or does not learn, on the deterministic policy's own real\n"
                      "states: the world model's latent error against the true latent change, action drift and\n"
                      "reward bias per k; cosines of the model's action gradients with the true ones (central\n"
                      "differences through MuJoCo); the critic against Monte-Carlo returns, overall and near falls;\n"
                      "closed-loop against training-time returns; the latents' spread (effective rank). docs/pwm.md\n"
                      "(Diagnosing a run) defines each figure.",
                      {opts, po.opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm diagnose");
    if (rc >= 0) return rc;
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

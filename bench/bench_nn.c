// `pwm bench nn`: time one world-model training step (forward, backward, Adam) of the TD-MPC2 /
// PWM architecture on the numeric core, and how much of it is matrix products; then PWM's policy
// epoch on a model of the same size. On the CPU or, with --device cuda, the CUDA backend.
//
// The step is worldmodel/wm.h's: PWM's world-model loss (wm_loss), grad-norm clipping at 20 and
// Adam at 3e-4. The policy epoch is pwm train's own (policy/pwm.h: pwm_bench_epochs) with the
// paper's settings (pwm_preset "paper": 64 starts x horizon 16, actor [400, 200, 100] and three
// critics [400, 200] with Mish, 8 x 4 critic minibatches, 8 fine-tuning steps of batch 256) less
// the MuJoCo stepping. The data are random: timing only.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../nn/common.h"
#include "../nn/device.h"
#include "../nn/mlp.h"
#include "../nn/optim.h"
#include "../opts/args.h"
#include "../opts/device_opt.h"
#include "../policy/pwm.h"
#include "../worldmodel/wm.h"
#include "bench.h"

typedef struct {
    int obs, act, latent, enc_dim, enc_layers, mlp_dim, batch, horizon, steps, warmup, threads, envs, epochs;
    const char *size, *device;
} nn_bench_cfg;

// one training step of the world model (worldmodel/wm.h) on fixed batch data
static float wm_step(world_model *w, nn_graph *g, nn_adam *opt, const nn_bench_cfg *c, const float *obs,
                     const float *act, const float *rew) {
    nn_graph_reset(g);
    nn_params_zero_grad(&w->p);
    nn_tensor *loss = wm_loss(g, w, obs, act, rew, NULL, NULL, c->batch, c->horizon, 0.99f, NULL, NULL, NULL);
    nn_backward(g, loss);
    nn_clip_adam_step(opt, &w->p, 3e-4f, 20.0);
    return loss->x[0];
}

// PWM's policy epoch (pwm_bench_epochs) at the paper's settings on a model of wc, random episodes
// as its replay buffer; prints each part's time
static int policy_epoch(const wm_config *wc, const nn_bench_cfg *c) {
    pwm_config pc;
    char err[512];
    pwm_preset(&pc, "hopper", "paper", err, sizeof err);
    pc.envs = c->envs, pc.horizon = c->horizon, pc.wm_batch = c->batch;
    enum { EPISODES = 4 };
    ds_episode eps[EPISODES];
    nn_rng r;
    nn_rng_init(&r, 3, 0);
    int T = 4 * c->horizon > 250 ? 4 * c->horizon : 250;
    for (int k = 0; k < EPISODES; k++) {
        ds_episode *e = &eps[k];
        ds_episode_alloc(e, T, wc->obs_dim, wc->act_dim);
        for (size_t i = 0; i < (size_t)(T + 1) * e->obs_dim; i++) e->obs[i] = nn_rng_normal(&r);
        for (size_t i = 0; i < (size_t)T * e->act_dim; i++) e->act[i] = 2 * nn_rng_uniform(&r) - 1;
        for (int i = 0; i < T; i++) e->rew[i] = nn_rng_normal(&r);
        e->trunc[T - 1] = 1;
    }
    if ((pc.envs * pc.horizon) % pc.critic_minibatches)
        return fprintf(stderr, "pwm bench nn: policy epoch: --envs x --horizon (%d x %d) must be divisible by %d, the "
                       "critics' minibatches\n", pc.envs, pc.horizon, pc.critic_minibatches), 1;
    int epochs = c->epochs < 0 ? c->steps : c->epochs;
    pwm_bench_result b;
    int rc = pwm_bench_epochs(&pc, wc, eps, EPISODES, c->warmup, epochs, &b, err, sizeof err);
    for (int k = 0; k < EPISODES; k++) ds_episode_free(&eps[k]);
    if (rc) return fprintf(stderr, "pwm bench nn: policy epoch: %s\n", err), 1;
    printf("PWM policy epoch: pwm train's (paper settings: %d starts x horizon %d, actor [%s] and %d critics [%s] with "
           "Mish) on a %.2fM-parameter model of the same shape, without MuJoCo stepping; mean of %d\n", pc.envs,
           pc.horizon, pc.actor_units, pc.critics, pc.critic_units, (double)b.model_params / 1e6, epochs);
    printf("  actor loss + backward %9.2f ms   (through the frozen model; loss %.4g)\n", 1e3 * b.actor_s, b.actor_loss);
    printf("  actor update          %9.2f ms   (grad norm %.4g, clip %g, Adam)\n", 1e3 * b.update_s, b.grad_norm,
           pc.actor_clip);
    printf("  critic fits           %9.2f ms   (TD(lambda), %d x %d minibatches; loss %.4g)\n", 1e3 * b.critic_s,
           pc.critic_iters, pc.critic_minibatches, b.critic_loss);
    printf("  model fine-tuning     %9.2f ms   (%d steps of batch %d x horizon %d; loss %.4g)\n", 1e3 * b.wm_s,
           pc.wm_iters, pc.wm_batch, pc.horizon, b.wm_loss);
    printf("  epoch                 %9.2f ms\n", 1e3 * b.epoch_s);
    printf("10k policy epochs       %9.1f min  (the issue's GPU target at the 48M size: 10k policy steps < 2 min)\n",
           1e4 * b.epoch_s / 60);
    nn_free(b.actor);
    return 0;
}

// replay the step's matrix products with OpenBLAS's own threading; returns seconds per replay
static double raw_sgemm_seconds(const nn_gemm_shape *shapes, int n, int threads, int reps) {
    size_t most = 0;
    for (int i = 0; i < n; i++) {
        size_t m = (size_t)shapes[i].m, nn = (size_t)shapes[i].n, k = (size_t)shapes[i].k;
        size_t need = m * k > k * nn ? m * k : k * nn;
        most = need > most ? need : most;
        most = m * nn > most ? m * nn : most;
    }
    float *A = nn_malloc(sizeof(float) * most), *B = nn_malloc(sizeof(float) * most), *C = nn_malloc(sizeof(float) * most);
    for (size_t i = 0; i < most; i++) A[i] = B[i] = 0.001f * (float)(i % 1000);
    openblas_set_num_threads(threads);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = nn_now();
        for (int i = 0; i < n; i++) {
            const nn_gemm_shape *s = &shapes[i];
            cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans,
                        s->m, s->n, s->k, 1.0f, A, s->trans_a ? s->m : s->k, B, s->trans_b ? s->k : s->n, 1.0f, C, s->n);
        }
        double dt = nn_now() - t0;
        best = dt < best ? dt : best;
    }
    openblas_set_num_threads(1);
    nn_free(A);
    nn_free(B);
    nn_free(C);
    return best;
}

static const char nn_summary[] =
    "Times one world-model training step (forward + backward + grad clip + Adam) of the TD-MPC2/PWM\n"
    "architecture on random data: encoder obs -> [enc-dim] x enc-layers -> latent (SimNorm), dynamics and\n"
    "reward (latent+act) -> [mlp-dim, mlp-dim], batch x horizon, PWM's loss. Prints ms per step,\n"
    "GFLOP/s of the matrix products, the share of time in GEMM vs everything else, and OpenBLAS's own\n"
    "threaded sgemm on the same shapes for comparison. --size paper uses the 48M model\n"
    "(latent 768, encoder [1792]x3, mlp [1792, 1792]); explicit options override the size preset. Then PWM's policy\n"
    "epoch on a model of that size, as pwm train runs it with the paper's settings but without MuJoCo stepping: the\n"
    "actor's loss through the frozen model (--envs starts x --horizon) and its backward pass, the actor's update, the\n"
    "critic fits, the model's fine-tuning (batch --batch); each part's time and the epoch's. --device cuda runs\n"
    "both on the CUDA backend, which has not yet run on a GPU (docs/cuda.md).";

int bench_nn(int argc, char **argv) {
    nn_bench_cfg c = {.obs = 11, .act = 3, .latent = -1, .enc_dim = -1, .enc_layers = -1, .mlp_dim = -1,
                      .batch = 256, .horizon = 16, .steps = 20, .warmup = 3, .threads = 0, .envs = 64, .epochs = -1,
                      .size = "single", .device = "cpu"};
    const args_opt opts[] = {
        {"size", ARG_CHOICE, &c.size, "model size preset: single (5M-class, the paper's single-task WM) or paper (48M)", "single|paper", NULL},
        {"obs", ARG_INT, &c.obs, "observation width", NULL, "N"},
        {"act", ARG_INT, &c.act, "action width", NULL, "N"},
        {"latent", ARG_INT, &c.latent, "latent width (multiple of 8; -1: from --size)", NULL, "N"},
        {"enc-dim", ARG_INT, &c.enc_dim, "encoder hidden width (-1: from --size)", NULL, "N"},
        {"enc-layers", ARG_INT, &c.enc_layers, "encoder hidden layers (-1: from --size)", NULL, "N"},
        {"mlp-dim", ARG_INT, &c.mlp_dim, "dynamics/reward hidden width (-1: from --size)", NULL, "N"},
        {"batch", ARG_INT, &c.batch, "sub-trajectories per batch", NULL, "B"},
        {"horizon", ARG_INT, &c.horizon, "unrolled steps H", NULL, "H"},
        {"steps", ARG_INT, &c.steps, "timed steps", NULL, "N"},
        {"warmup", ARG_INT, &c.warmup, "untimed steps first", NULL, "N"},
        {"threads", ARG_INT, &c.threads, "threads (0: all cores)", NULL, "T"},
        {"envs", ARG_INT, &c.envs, "the policy epoch's starts (PWM's environments)", NULL, "N"},
        {"epochs", ARG_INT, &c.epochs, "timed policy epochs, after --warmup (-1: as --steps; 0: skip the policy epoch)", NULL, "N"},
        DEVICE_OPT(c.device),
        {0},
    };
    args_spec spec = {"pwm bench nn [options]", nn_summary, {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm bench nn");
    if (rc >= 0) return rc;
    int paper = !strcmp(c.size, "paper");
    if (c.latent < 0) c.latent = paper ? 768 : 512;
    if (c.enc_dim < 0) c.enc_dim = paper ? 1792 : 256;
    if (c.enc_layers < 0) c.enc_layers = paper ? 3 : 1;
    if (c.mlp_dim < 0) c.mlp_dim = paper ? 1792 : 512;
    if (c.latent % 8 || c.batch < 1 || c.horizon < 1 || c.steps < 1 || c.envs < 1 || c.obs < 1 || c.act < 1 ||
        c.enc_layers < 1 || c.enc_layers > NN_MLP_MAX_HIDDEN) {
        fprintf(stderr, "pwm bench nn: need latent a multiple of 8, enc-layers 1..%d and positive sizes\n",
                NN_MLP_MAX_HIDDEN);
        return 2;
    }
    nn_set_threads(c.threads);
    if (device_opt_select(c.device, "pwm bench nn")) return 1;

    world_model w;
    wm_config wc = {.obs_dim = c.obs, .act_dim = c.act, .latent = c.latent, .enc_dim = c.enc_dim,
                    .enc_layers = c.enc_layers, .mlp_dim = c.mlp_dim, .activation = WM_SIMNORM};
    wm_init(&w, &wc, 0);
    int B = c.batch, H = c.horizon;
    float *obs = nn_malloc(sizeof(float) * (size_t)(H + 1) * B * c.obs);
    float *act = nn_malloc(sizeof(float) * (size_t)H * B * c.act), *rew = nn_malloc(sizeof(float) * (size_t)H * B);
    nn_rng r;
    nn_rng_init(&r, 1, 0);
    for (size_t i = 0; i < (size_t)(H + 1) * B * c.obs; i++) obs[i] = nn_rng_normal(&r);
    for (size_t i = 0; i < (size_t)H * B * c.act; i++) act[i] = 2 * nn_rng_uniform(&r) - 1;
    for (size_t i = 0; i < (size_t)H * B; i++) rew[i] = nn_rng_normal(&r);
    nn_graph *g = nn_graph_new(0);
    nn_adam opt = nn_adam_default();

    printf("world model: obs %d, act %d, latent %d, encoder [%d]x%d, dynamics/reward [%d, %d]; %.2fM parameters\n",
           c.obs, c.act, c.latent, c.enc_dim, c.enc_layers, c.mlp_dim, c.mlp_dim, (double)nn_params_numel(&w.p) / 1e6);
    printf("step: batch %d x horizon %d, forward + backward + clip + Adam; %d threads; device %s\n", B, H,
           nn_get_threads(), nn_device_describe());
    // OpenBLAS 0.3.21 does not know some newer CPUs and falls back to its slowest x86-64 kernel
    const char *core = openblas_get_corename();
    if (core && !strcasecmp(core, "prescott") && __builtin_cpu_supports("avx2"))
        printf("note: OpenBLAS chose its generic Prescott kernel on this AVX2%s CPU; OPENBLAS_CORETYPE=%s makes its "
               "GEMM about 3x faster\n", __builtin_cpu_supports("avx512f") ? "/AVX-512" : "",
               __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
    fflush(stdout);
    for (int i = 0; i < c.warmup; i++) wm_step(&w, g, &opt, &c, obs, act, rew);

    // timed steps with the sgemm profile on; the first one also logs the shapes
    static nn_gemm_shape shapes[4096];
    nn_gemm_stats = (nn_gemm_prof){.enabled = 1, .log = shapes, .log_cap = 4096};
    double t0 = nn_now(), loss = 0;
    for (int i = 0; i < c.steps; i++) {
        loss = wm_step(&w, g, &opt, &c, obs, act, rew);
        if (i == 0) nn_gemm_stats.log_cap = nn_gemm_stats.log_n;
        nn_progress("bench nn", i + 1, c.steps, t0);
    }
    double total = nn_now() - t0, step = total / c.steps;
    double gemm = nn_gemm_stats.seconds / c.steps, flops = nn_gemm_stats.flops / c.steps;
    int calls = nn_gemm_stats.log_n;
    nn_gemm_stats = (nn_gemm_prof){0};
    int cpu = nn_device_current() == NN_DEVICE_CPU;
    double raw = cpu ? raw_sgemm_seconds(shapes, calls, nn_get_threads(), 5) : 0;

    printf("time per step          %9.2f ms   (mean of %d, loss %.4g)\n", 1e3 * step, c.steps, loss);
    printf("GEMM                   %9.2f ms   %5.1f%% of the step, %d calls, %.2f GFLOP\n", 1e3 * gemm,
           100 * gemm / step, calls, flops / 1e9);
    printf("non-GEMM               %9.2f ms   %5.1f%% of the step   (target <= 20%%)\n", 1e3 * (step - gemm),
           100 * (step - gemm) / step);
    printf("GEMM throughput        %9.1f GFLOP/s in the step; %.1f GFLOP/s over the whole step\n", flops / gemm / 1e9,
           flops / step / 1e9);
    if (cpu) {
        printf("raw OpenBLAS sgemm     %9.1f GFLOP/s on the same %d shapes (its own threading, %d threads)\n",
               flops / raw / 1e9, calls, nn_get_threads());
        printf("GEMM vs raw            %9.1f%%   (target >= 80%%)\n", 100 * raw / gemm);
    }
    printf("activation arena       %9.1f MiB\n", (double)nn_graph_bytes(g) / (1 << 20));
    fflush(stdout);
    nn_graph_free(g);
    wm_free(&w);
    nn_free(obs);
    nn_free(act);
    nn_free(rew);
    return c.epochs ? policy_epoch(&wc, &c) : 0;
}

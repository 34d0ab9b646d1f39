// The CUDA backend against the CPU, on a GPU (`make test-cuda` runs this suite alone): every op's
// forward and backward, Adam and the gradient norm, a whole world-model training step, a whole
// PWM policy epoch's network work (the actor step, the critics, the fine-tuning), the arena's
// reuse of freed graphs and six epochs of PWM's training (pwm_train). Where there is no CUDA build or no
// GPU, each case skips and says why.
//
// Tolerances: an element passes when |gpu − cpu| <= atol + rtol·max(|gpu|, |cpu|). Ops: rtol 1e-4,
// atol 1e-5 (sums run in another order, cuBLAS against OpenBLAS); whole steps: the loss within
// rtol 1e-4 and the gradient within 1e-3 relative L2 norm (errors grow through 16 unrolled steps).
// Reruns on the GPU must be bitwise equal (determinism by design, nn/cuda/cuda.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/device.h"
#ifdef PWM_CUDA
#include "../nn/cuda/cuda.h"
#endif
#include "../nn/optim.h"
#include "../policy/pwm.h"
#include "files.h"
#include "gradcheck.h"
#include "test.h"

// select the GPU or skip the case; the CPU is selected again by use_cpu
static void use_gpu(void) {
    char err[512];
    if (!nn_device_cuda_built()) test_skip("this build has no CUDA backend (built without nvcc or with CUDA=0)");
    if (nn_device_select("cuda", err, sizeof err)) test_skip("%s", err);
}

static void use_cpu(void) {
    char err[64];
    nn_device_select("cpu", err, sizeof err);
}

// ---- every op: the same call on CPU copies and on device copies of the same buffers ----------

#define MAXBUF 12
typedef struct {
    const char *name;
    int nbuf;
    size_t size[MAXBUF];
    void (*run)(float **b);
} op_case;

enum { N = 64, C = 96, OC = 40, NB = 101 };
static const nn_bins bins = {NB, -10.0f, 10.0f};

static void k_linear_fwd(float **b) { linear_forward(b[0], b[1], b[2], b[3], N, C, OC); }
static void k_linear_bwd(float **b) { linear_backward(b[0], b[1], b[2], b[3], b[4], b[5], N, C, OC); }
static void k_ln_fwd(float **b) { layernorm_forward(b[0], b[1], b[2], b[3], b[4], b[5], N, C); }
static void k_ln_bwd(float **b) { layernorm_backward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], N, C); }
static void k_lna_fwd(float **b) { layernorm_act_forward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], N, C, NN_ACT_MISH, 0); }
static void k_lns_fwd(float **b) { layernorm_act_forward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], N, C, NN_ACT_NONE, 8); }
static void k_lna_bwd(float **b) {
    layernorm_act_backward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], N, C, NN_ACT_MISH, 0);
}
static void k_lns_bwd(float **b) {
    layernorm_act_backward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], N, C, NN_ACT_NONE, 8);
}
static void k_mish_fwd(float **b) { act_forward(b[0], b[1], (size_t)N * C, NN_ACT_MISH); }
static void k_mish_bwd(float **b) { act_backward(b[0], b[1], b[2], b[3], (size_t)N * C, NN_ACT_MISH); }
static void k_relu_fwd(float **b) { act_forward(b[0], b[1], (size_t)N * C, NN_ACT_RELU); }
static void k_relu_bwd(float **b) { act_backward(b[0], b[1], b[2], b[3], (size_t)N * C, NN_ACT_RELU); }
static void k_elu_fwd(float **b) { act_forward(b[0], b[1], (size_t)N * C, NN_ACT_ELU); }
static void k_elu_bwd(float **b) { act_backward(b[0], b[1], b[2], b[3], (size_t)N * C, NN_ACT_ELU); }
static void k_tanh_fwd(float **b) { act_forward(b[0], b[1], (size_t)N * C, NN_ACT_TANH); }
static void k_tanh_bwd(float **b) { act_backward(b[0], b[1], b[2], b[3], (size_t)N * C, NN_ACT_TANH); }
static void k_softmax_fwd(float **b) { softmax_forward(b[0], b[1], N, C); }
static void k_softmax_bwd(float **b) { softmax_backward(b[0], b[1], b[2], N, C); }
static void k_logsm_fwd(float **b) { log_softmax_forward(b[0], b[1], N, C); }
static void k_logsm_bwd(float **b) { log_softmax_backward(b[0], b[1], b[2], N, C); }
static void k_simnorm_fwd(float **b) { simnorm_forward(b[0], b[1], N, C, 8); }
static void k_simnorm_bwd(float **b) { simnorm_backward(b[0], b[1], b[2], N, C, 8); }
static void k_symlog_fwd(float **b) { symlog_forward(b[0], b[1], (size_t)N * C); }
static void k_symlog_bwd(float **b) { symlog_backward(b[0], b[1], b[2], (size_t)N * C); }
static void k_symexp_fwd(float **b) { symexp_forward(b[0], b[1], (size_t)N * C); }
static void k_symexp_bwd(float **b) { symexp_backward(b[0], b[1], b[2], (size_t)N * C); }
static void k_twohot_fwd(float **b) { two_hot_forward(b[0], b[1], N, bins); }
static void k_twohot_bwd(float **b) { two_hot_backward(b[0], b[1], b[2], N, bins); }
static void k_expect_fwd(float **b) { two_hot_expect_forward(b[0], b[1], b[2], N, bins); }
static void k_expect_bwd(float **b) { two_hot_expect_backward(b[0], b[1], b[2], b[3], N, bins); }
static void k_ce_fwd(float **b) { soft_ce_forward(b[0], b[1], b[2], b[3], N, C); }
static void k_ce_bwd(float **b) { soft_ce_backward(b[0], b[1], b[2], b[3], b[4], N, C); }
static void k_mse_fwd(float **b) { mse_forward(b[0], b[1], b[2], N, C); }
static void k_mse_bwd(float **b) { mse_backward(b[0], b[1], b[2], b[3], b[4], N, C); }

#define NC ((size_t)N * C)
static const op_case ops[] = {
    {"linear_forward", 4, {N * OC, NC, OC * C, OC}, k_linear_fwd},
    {"linear_backward", 6, {NC, OC * C, OC, N * OC, NC, OC * C}, k_linear_bwd},
    {"layernorm_forward", 6, {NC, N, N, NC, C, C}, k_ln_fwd},
    {"layernorm_backward", 8, {NC, C, C, NC, NC, C, N, N}, k_ln_bwd},
    {"layernorm_act_forward mish", 7, {NC, NC, N, N, NC, C, C}, k_lna_fwd},
    {"layernorm_act_forward simnorm", 7, {NC, NC, N, N, NC, C, C}, k_lns_fwd},
    {"layernorm_act_backward mish", 12, {NC, C, C, C, NC, NC, NC, NC, NC, C, N, N}, k_lna_bwd},
    {"layernorm_act_backward simnorm", 12, {NC, C, C, C, NC, NC, NC, NC, NC, C, N, N}, k_lns_bwd},
    {"act mish forward", 2, {NC, NC}, k_mish_fwd},
    {"act mish backward", 4, {NC, NC, NC, NC}, k_mish_bwd},
    {"act relu forward", 2, {NC, NC}, k_relu_fwd},
    {"act relu backward", 4, {NC, NC, NC, NC}, k_relu_bwd},
    {"act elu forward", 2, {NC, NC}, k_elu_fwd},
    {"act elu backward", 4, {NC, NC, NC, NC}, k_elu_bwd},
    {"act tanh forward", 2, {NC, NC}, k_tanh_fwd},
    {"act tanh backward", 4, {NC, NC, NC, NC}, k_tanh_bwd},
    {"softmax_forward", 2, {NC, NC}, k_softmax_fwd},
    {"softmax_backward", 3, {NC, NC, NC}, k_softmax_bwd},
    {"log_softmax_forward", 2, {NC, NC}, k_logsm_fwd},
    {"log_softmax_backward", 3, {NC, NC, NC}, k_logsm_bwd},
    {"simnorm_forward", 2, {NC, NC}, k_simnorm_fwd},
    {"simnorm_backward", 3, {NC, NC, NC}, k_simnorm_bwd},
    {"symlog_forward", 2, {NC, NC}, k_symlog_fwd},
    {"symlog_backward", 3, {NC, NC, NC}, k_symlog_bwd},
    {"symexp_forward", 2, {NC, NC}, k_symexp_fwd},
    {"symexp_backward", 3, {NC, NC, NC}, k_symexp_bwd},
    {"two_hot_forward", 2, {N * NB, N}, k_twohot_fwd},
    {"two_hot_backward", 3, {N, N * NB, N}, k_twohot_bwd},
    {"two_hot_expect_forward", 3, {N, N * NB, N * NB}, k_expect_fwd},
    {"two_hot_expect_backward", 4, {N * NB, N, N * NB, N}, k_expect_bwd},
    {"soft_ce_forward", 4, {N, NC, NC, NC}, k_ce_fwd},
    {"soft_ce_backward", 5, {NC, NC, N, NC, NC}, k_ce_bwd},
    {"mse_forward", 3, {N, NC, NC}, k_mse_fwd},
    {"mse_backward", 5, {NC, NC, N, NC, NC}, k_mse_bwd},
};

// the largest |gpu − cpu| / (atol/rtol + max(|gpu|, |cpu|)) style check, failing on the first miss
static void compare(const char *op, int buf, const float *cpu, const float *gpu, size_t n, double rtol, double atol) {
    for (size_t i = 0; i < n; i++) {
        double a = cpu[i], b = gpu[i];
        CHECK(fabs(a - b) <= atol + rtol * fmax(fabs(a), fabs(b)) || (isnan(a) && isnan(b)),
              "%s: buffer %d [%zu]: cpu %.9g, gpu %.9g", op, buf, i, a, b);
    }
}

TEST(every_op_matches_cpu) {
    use_gpu();
    use_cpu();
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        const op_case *c = &ops[o];
        float *init[MAXBUF], *cpu[MAXBUF], *gpu[MAXBUF], *gpu2[MAXBUF];
        for (int i = 0; i < c->nbuf; i++) {
            init[i] = nn_malloc(sizeof(float) * c->size[i]);
            fd_fill(init[i], c->size[i], -1, 1, 100u * (unsigned)o + (unsigned)i);
            cpu[i] = nn_malloc(sizeof(float) * c->size[i]);
            memcpy(cpu[i], init[i], sizeof(float) * c->size[i]);
        }
        c->run(cpu);
        use_gpu();
        for (int r = 0; r < 2; r++) {
            float **dst = r ? gpu2 : gpu;
            for (int i = 0; i < c->nbuf; i++) {
                dst[i] = nn_device_alloc(sizeof(float) * c->size[i]);
                memcpy(dst[i], init[i], sizeof(float) * c->size[i]);
            }
            c->run(dst);
        }
        use_cpu();
        for (int i = 0; i < c->nbuf; i++) {
            compare(c->name, i, cpu[i], gpu[i], c->size[i], 1e-4, 1e-5);
            CHECK(!memcmp(gpu[i], gpu2[i], sizeof(float) * c->size[i]), "%s: buffer %d differs between two GPU runs",
                  c->name, i);
        }
        for (int i = 0; i < c->nbuf; i++) nn_free(init[i]), nn_free(cpu[i]), nn_device_free(gpu[i]), nn_device_free(gpu2[i]);
    }
}

TEST(adam_and_grad_norm_match_cpu) {
    use_gpu();
    nn_params p[2];
    nn_adam opt[2] = {nn_adam_default(), nn_adam_default()};
    double norm[2];
    for (int k = 0; k < 2; k++) {
        if (k) use_gpu();
        else use_cpu();
        nn_params_init(&p[k], 0);
        nn_params_add(&p[k], "w", 300, 200);
        nn_params_add_vec(&p[k], "b", 33);
        nn_params_alloc(&p[k]);
        fd_fill(p[k].values, p[k].count, -1, 1, 1);
        fd_fill(p[k].grads, p[k].count, -1, 1, 2);
        opt[k].weight_decay = 0.01f;
        for (int it = 0; it < 3; it++) norm[k] = nn_clip_adam_step(&opt[k], &p[k], 1e-3f, 5.0);
    }
    use_cpu();
    CHECK_CLOSE(norm[1], norm[0], 1e-12, 0);
    compare("adam values", 0, p[0].values, p[1].values, p[0].count, 1e-5, 1e-7);
    compare("adam m", 1, p[0].m, p[1].m, p[0].count, 1e-5, 1e-9);
    compare("adam v", 2, p[0].v, p[1].v, p[0].count, 1e-5, 1e-12);
    nn_params_free(&p[0]), nn_params_free(&p[1]);
}

// ---- whole steps ----

// relative L2 distance of two arrays
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)a[i] * a[i];
    return sqrt(d / (s > 0 ? s : 1));
}

TEST(world_model_step_matches_cpu) {
    // PWM's world-model loss at a small size, batch 64 × horizon 8: loss, every gradient, then one
    // clipped Adam step; and two GPU runs bitwise equal
    use_gpu();
    int B = 64, H = 8;
    wm_config wc = {.obs_dim = 11, .act_dim = 3, .latent = 64, .enc_dim = 96, .enc_layers = 1, .mlp_dim = 128,
                    .activation = WM_SIMNORM};
    float *obs = nn_malloc(sizeof(float) * (H + 1) * B * 11), *act = nn_malloc(sizeof(float) * H * B * 3);
    float *rew = nn_malloc(sizeof(float) * H * B);
    fd_fill(obs, (size_t)(H + 1) * B * 11, -1, 1, 1), fd_fill(act, (size_t)H * B * 3, -1, 1, 2),
        fd_fill(rew, (size_t)H * B, -1, 1, 3);
    world_model w[3];
    double loss[3];
    float *grads[3];
    for (int k = 0; k < 3; k++) {
        if (k) use_gpu();
        else use_cpu();
        wm_init(&w[k], &wc, 7);
        nn_graph *g = nn_graph_new(0);
        nn_adam opt = nn_adam_default();
        nn_params_zero_grad(&w[k].p);
        nn_tensor *l = wm_loss(g, &w[k], obs, act, rew, NULL, NULL, B, H, 0.99f, NULL, NULL, NULL);
        nn_backward(g, l);
        loss[k] = l->x[0];
        grads[k] = nn_malloc(sizeof(float) * w[k].p.count);
        memcpy(grads[k], w[k].p.grads, sizeof(float) * w[k].p.count);
        nn_clip_adam_step(&opt, &w[k].p, 3e-4f, 20.0);
        nn_graph_free(g);
    }
    use_cpu();
    CHECK_CLOSE(loss[1], loss[0], 1e-4, 1e-7);
    double e = rel_l2(grads[0], grads[1], w[0].p.count);
    CHECK(e < 1e-3, "world-model gradient: relative L2 error %.3g between GPU and CPU", e);
    // one Adam step moves each value by at most ~lr, so values agree to about 2·lr
    compare("world-model values after Adam", 0, w[0].p.values, w[1].p.values, w[0].p.count, 0, 7e-4);
    CHECK(loss[1] == loss[2] && !memcmp(w[1].p.values, w[2].p.values, sizeof(float) * w[1].p.count),
          "two GPU world-model steps differ");
    for (int k = 0; k < 3; k++) wm_free(&w[k]), nn_free(grads[k]);
    nn_free(obs), nn_free(act), nn_free(rew);
}

// random episodes (obs 11, act 3) as a replay buffer
static void random_episodes(ds_episode *eps, int n, int T, unsigned seed) {
    for (int k = 0; k < n; k++) {
        ds_episode_alloc(&eps[k], T, 11, 3);
        fd_fill(eps[k].obs, (size_t)(T + 1) * 11, -1, 1, seed + 3 * k);
        fd_fill(eps[k].act, (size_t)T * 3, -1, 1, seed + 3 * k + 1);
        fd_fill(eps[k].rew, (size_t)T, -1, 1, seed + 3 * k + 2);
    }
}

TEST(pwm_policy_epoch_matches_cpu) {
    // one epoch of pwm train's network work (pwm_bench_epochs, what `bench nn` times): the actor's
    // loss through the frozen model and its clipped Adam step, three critics' fits, the model's
    // fine-tuning; the GPU's log values and the actor after its update within tolerance of the
    // CPU's, two GPU runs bitwise equal
    use_gpu();
    pwm_config c;
    char err[512];
    CHECK(pwm_preset(&c, "hopper", "paper", err, sizeof err) == 0, "%s", err);
    c.envs = 64, c.horizon = 8, c.actor_units = "64,64", c.critic_units = "64", c.wm_batch = 64, c.wm_iters = 2;
    wm_config wc = {.obs_dim = 11, .act_dim = 3, .latent = 64, .enc_dim = 96, .enc_layers = 1, .mlp_dim = 128,
                    .activation = WM_SIMNORM};
    ds_episode eps[2];
    random_episodes(eps, 2, 100, 4);
    pwm_bench_result r[3];
    for (int k = 0; k < 3; k++) {
        if (k) use_gpu();
        else use_cpu();
        CHECK(pwm_bench_epochs(&c, &wc, eps, 2, 0, 1, &r[k], err, sizeof err) == 0, "%s", err);
    }
    use_cpu();
    CHECK_CLOSE(r[1].actor_loss, r[0].actor_loss, 1e-4, 1e-7);
    CHECK_CLOSE(r[1].grad_norm, r[0].grad_norm, 1e-3, 1e-7);
    CHECK_CLOSE(r[1].critic_loss, r[0].critic_loss, 1e-3, 1e-6);
    CHECK_CLOSE(r[1].wm_loss, r[0].wm_loss, 1e-4, 1e-7);
    // one Adam step moves each value by about lr (5e-4): values agree to about 2·lr
    compare("actor values after its update", 0, r[0].actor, r[1].actor, r[0].actor_count, 0, 1.5e-3);
    CHECK(r[1].actor_loss == r[2].actor_loss && r[1].critic_loss == r[2].critic_loss && r[1].wm_loss == r[2].wm_loss &&
          !memcmp(r[1].actor, r[2].actor, sizeof(float) * r[1].actor_count), "two GPU policy epochs differ");
    for (int k = 0; k < 3; k++) nn_free(r[k].actor);
    for (int k = 0; k < 2; k++) ds_episode_free(&eps[k]);
}

TEST(arena_reuses_freed_graphs) {
    // a model and a training graph held while 50 evaluation-sized graphs come and go, each with a
    // gradient norm: the arena's high-water mark stays where the first one left it, and what is
    // in use returns to where it was
    use_gpu();
#ifdef PWM_CUDA
    wm_config wc = {.obs_dim = 11, .act_dim = 3, .latent = 64, .enc_dim = 96, .enc_layers = 1, .mlp_dim = 128,
                    .activation = WM_SIMNORM};
    world_model w;
    wm_init(&w, &wc, 3);
    nn_graph *train = nn_graph_new(1 << 18);
    float obs[8 * 11];
    fd_fill(obs, sizeof obs / sizeof obs[0], -1, 1, 6);
    size_t used = cuda_arena_used(), high = 0;
    for (int i = 0; i < 50; i++) {
        nn_graph *g = nn_graph_new(1 << 20);
        nn_graph_set_no_grad(g, 1);
        wm_encode(g, &w, nn_tensor_from(g, obs, 8, 11, 0), NULL);
        nn_graph_free(g);
        // the training graph grows a block now and then between them
        if (i % 10 == 0) nn_graph_alloc(train, (size_t)(i + 1) << 16);
        nn_grad_norm(&w.p);
        if (i == 0) high = cuda_arena_high_water();
    }
    size_t grown = nn_graph_bytes(train);
    CHECK(cuda_arena_high_water() <= high + grown, "the arena's high water grew from %zu to %zu bytes over 50 graphs "
          "(the training graph grew by %zu)", high, cuda_arena_high_water(), grown);
    nn_graph_free(train);
    wm_free(&w);
    CHECK(cuda_arena_used() <= used, "the arena holds %zu bytes after everything was freed, %zu before", cuda_arena_used(),
          used);
    use_cpu();
#endif
}

// log.csv texts (wall time cut) against each other, field by field: |gpu − cpu| <= atol +
// rtol·max(|gpu|, |cpu|), with rtol_ret for the returns (columns 3 and 4: the real environments'
// episodes, which the actions' rounding differences reach through MuJoCo); both NaN is equal
static void compare_logs(const char *cpu, const char *gpu, double rtol, double rtol_ret, double atol) {
    int row = 0, col = 0;
    const char *a = strchr(cpu, '\n'), *b = strchr(gpu, '\n');  // past the headers
    CHECK(a && b && (a - cpu) == (b - gpu) && !strncmp(cpu, gpu, (size_t)(a - cpu)), "log headers differ");
    while (*a && *b) {
        if (*a == '\n' || *a == ',') {
            CHECK(*a == *b, "row %d: the GPU log has %s", row, *b == '\n' ? "fewer columns" : "more columns");
            if (*a == '\n') row++, col = 0;
            else col++;
            a++, b++;
            continue;
        }
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        CHECK(ea != a && eb != b, "row %d column %d: not numbers", row, col);
        double r = col == 3 || col == 4 ? rtol_ret : rtol;
        CHECK((isnan(x) && isnan(y)) || fabs(x - y) <= atol + r * fmax(fabs(x), fabs(y)),
              "row %d column %d: GPU %.9g vs CPU %.9g (rtol %g, atol %g)", row, col, y, x, r, atol);
        a = ea, b = eb;
    }
    CHECK(!*a && !*b, "the logs have different numbers of rows");
}

TEST(pwm_epochs_match_cpu) {
    // six epochs of online PWM (pwm_train: the actor through the model, its update, three
    // critics, lock-step MuJoCo environments, the model's fine-tuning once episodes have ended, an
    // evaluation and a checkpoint every three epochs) on the CPU and twice on the GPU: the GPU's
    // log.csv within tolerance of the CPU's, its two runs bitwise equal (wall time aside)
    use_gpu();
    char wm[600], dir[3][600];
    static char log[3][16384];
    snprintf(wm, sizeof wm, "%s/cuda_pwm_wm.safetensors", test_tmpdir());
    files_save_wm(wm, 32, 0, 4);
    pwm_config c;
    char err[256];
    CHECK(pwm_preset(&c, "hopper", "quick", err, sizeof err) == 0, "%s", err);
    c.wm = wm;
    c.envs = 8, c.horizon = 16, c.epochs = 6, c.eval_every = 3, c.save_every = 3, c.eval_episodes = 2;
    c.actor_units = "32,32", c.critic_units = "32", c.wm_batch = 8;
    for (int k = 0; k < 3; k++) {
        if (k) use_gpu();
        else use_cpu();
        snprintf(dir[k], sizeof dir[k], "%s/cuda_pwm_%s%d", test_tmpdir(), k ? "gpu" : "cpu", k);
        CHECK(nn_mkdirs(dir[k]) == 0, "mkdir %s", dir[k]);
        CHECK(pwm_train(&c, dir[k], 0, 1) == 0, "the %s run failed", k ? "GPU" : "CPU");
        test_read_log(dir[k], log[k], sizeof log[k]);
    }
    use_cpu();
    const char *last = strrchr(log[0], '\n');
    while (last > log[0] && last[-1] != '\n') last--;
    CHECK(!strstr(last, ",nan,0\n"), "the CPU run never fine-tuned its model (wm_loss nan): %s", last);
    CHECK(!strcmp(log[1], log[2]), "two GPU runs differ:\n%s\nvs\n%s", log[1], log[2]);
    compare_logs(log[0], log[1], 1e-3, 1e-2, 1e-5);
}

TEST(cuda_device_errors) {
    // without a CUDA build or a GPU: --device cuda is a clear error and auto falls back to the CPU
    char err[512] = "";
    if (nn_device_cuda_built() && !nn_device_select("cuda", err, sizeof err)) {
        use_cpu();
        test_skip("a GPU is present: the no-GPU messages cannot be checked here");
    }
    CHECK(nn_device_select("cuda", err, sizeof err) == -1 && strstr(err, "--device cpu"),
          "--device cuda without a GPU: '%s'", err);
    CHECK(nn_device_select("auto", err, sizeof err) == 0 && nn_device_current() == NN_DEVICE_CPU, "auto did not fall back");
    CHECK(nn_device_select("tpu", err, sizeof err) == -1 && strstr(err, "auto, cpu or cuda"), "unknown device: '%s'", err);
    use_cpu();
}

const test_case cuda_tests[] = {
    {"cuda_device_errors", cuda_device_errors},
    {"every_op_matches_cpu", every_op_matches_cpu},
    {"adam_and_grad_norm_match_cpu", adam_and_grad_norm_match_cpu},
    {"world_model_step_matches_cpu", world_model_step_matches_cpu},
    {"pwm_policy_epoch_matches_cpu", pwm_policy_epoch_matches_cpu},
    {"arena_reuses_freed_graphs", arena_reuses_freed_graphs},
    {"pwm_epochs_match_cpu", pwm_epochs_match_cpu},
    {0},
};

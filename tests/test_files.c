// Bad files: each case is one defect a fuzzing pass found (see issue 18), written so that it failed
// before its fix. Checkpoints, world models and datasets that lie about their sizes, hold non-finite
// numbers or corrupt resume state are rejected with a message that names the file (and the tensor
// or member), before anything of the claimed size is allocated. The shared file surgery (metadata
// rewrites, zip CRC repair) is in tests/files.h; the fuzz test (tests/test_fuzz.c) uses it too.
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/graph.h"
#include "../policy/learner.h"
#include "../policy/policy.h"
#include "../policy/shac.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/npy.h"
#include "../worldmodel/train.h"
#include "../worldmodel/wm.h"
#include "files.h"
#include "test.h"

// a SHAC run stopped after its first epoch: ckpt.safetensors holds a policy and a resume state
static const char *shac_fixture(shac_config *c) {
    static char dir[400];
    char err[256];
    CHECK(shac_preset(c, "hopper", "quick", err, sizeof err) == 0, "%s", err);
    c->envs = 2, c->horizon = 4, c->epochs = 3, c->eval_episodes = 1, c->eval_every = 100, c->save_every = 1;
    c->actor_units = "8", c->critic_units = "8", c->critic_minibatches = 2;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/files_shac", test_tmpdir());
        CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
        c->stop_after = 1;
        CHECK(shac_train(c, dir, 0, 1) == 0, "the fixture run failed");
    }
    c->stop_after = 0;
    return dir;
}

// a copy of the fixture run whose checkpoint's resume state has token k replaced by value (k < 0:
// metadata key `key` set to value instead); 0 if `pwm shac --resume` accepted it
static int resume_with(int k, const char *key, const char *value) {
    shac_config c;
    const char *src = shac_fixture(&c);
    static int n;
    char dir[500], from[600], to[600];
    snprintf(dir, sizeof dir, "%s/files_resume_%d", test_tmpdir(), n++);
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    const char *files[] = {"log.csv", "timing.csv"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/%s", src, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        files_copy(from, to);
    }
    snprintf(from, sizeof from, "%s/ckpt.safetensors", src);
    snprintf(to, sizeof to, "%s/ckpt.safetensors", dir);
    if (k >= 0) files_set_state_token(from, to, k, value);
    else files_set_meta(from, to, key, value);
    return shac_train(&c, dir, 1, 1);
}

TEST(resume_state_out_of_range_refused) {
    // the state's tokens: env_steps, wall, bad_updates, best_eval, recent.n, recent.i, 20 recent
    // returns, then the noise generator: counter, pos, buf[4], has_spare, spare; then the envs
    CHECK(resume_with(-1, NULL, NULL) == 0, "the unchanged copy did not resume");
    struct { int k; const char *v, *what; } bad[] = {
        {5, "1000", "recent-returns index 1000"},   {5, "-3", "recent-returns index -3"},
        {4, "21", "recent-returns count 21"},       {27, "1000", "random-stream position 1000"},
        {27, "-64", "random-stream position -64"},  {27, "100000", "random-stream position 100000"},
        {0, "nan", "a NaN step count"},             {2, "1e300", "bad-update count 1e300"},
        {1, "inf", "an infinite wall time"},        {26, "-1", "a negative stream counter"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(resume_with(bad[i].k, NULL, bad[i].v) != 0, "a resume state with %s was accepted", bad[i].what);
    CHECK(resume_with(-1, "epoch", "99999999999999999999") != 0, "epoch 99999999999999999999 was accepted");
    CHECK(resume_with(-1, "epoch", "abc") != 0, "epoch 'abc' was accepted");
    CHECK(resume_with(-1, "epoch", "-2") != 0, "epoch -2 was accepted");
}

// policy_evaluate on the fixture's checkpoint with metadata key set to value (or tensor poisoned)
static int evaluate_with(const char *key, const char *value, const char *tensor, float poison, char *err, size_t n) {
    shac_config c;
    const char *src = shac_fixture(&c);
    static int k;
    char from[600], to[600];
    snprintf(from, sizeof from, "%s/ckpt.safetensors", src);
    snprintf(to, sizeof to, "%s/files_policy_%d.safetensors", test_tmpdir(), k++);
    if (tensor) files_poison_tensor(from, to, tensor, poison);
    else files_set_meta(from, to, key, value);
    double mean, std;
    err[0] = 0;
    int rc = policy_evaluate("hopper", to, 1, 1, &c.physics, &mean, &std, err, n);
    CHECK(rc != 0 || isfinite(mean), "evaluated to a non-finite return");
    CHECK(rc == 0 || strstr(err, to), "the message does not name the file: %s", err);
    return rc;
}

TEST(policy_checkpoint_lies_refused) {
    char err[1024];
    CHECK(evaluate_with("format", SHAC_CKPT_FORMAT, NULL, 0, err, sizeof err) == 0, "%s", err);
    // sizes that would need 137 GB (and 6.4 GB) are compared with the file before allocation
    CHECK(evaluate_with("actor_units", "65536,65536,65536", NULL, 0, err, sizeof err) != 0, "137 GB actor accepted");
    CHECK(evaluate_with("actor_units", "20000,20000", NULL, 0, err, sizeof err) != 0, "6.4 GB actor accepted");
    CHECK(evaluate_with("format", "garbage", NULL, 0, err, sizeof err) != 0, "format 'garbage' accepted");
    CHECK(strstr(err, "garbage"), "%s", err);
    CHECK(evaluate_with("format", NULL, NULL, 0, err, sizeof err) != 0, "a checkpoint without a format accepted");
    // NaN weights used to act as the zero policy, infinite ones gave garbage returns
    CHECK(evaluate_with(NULL, NULL, "a/actor.mlp.0.weight", NAN, err, sizeof err) != 0, "NaN weights accepted");
    CHECK(strstr(err, "a/actor.mlp.0.weight") && strstr(err, "non-finite"), "%s", err);
    CHECK(evaluate_with(NULL, NULL, "a/actor.mlp.1.bias", INFINITY, err, sizeof err) != 0, "Inf weights accepted");
    CHECK(evaluate_with(NULL, NULL, "obs_rms.var", NAN, err, sizeof err) != 0, "a NaN normaliser accepted");
    CHECK(strstr(err, "obs_rms.var"), "%s", err);
}

static void make_wm(const char *path) { files_save_wm(path, 16, 0, 1); }

static int load_wm(const char *path, char *err, size_t n) {
    int rc = files_load_wm(path, err, n);
    CHECK(rc == 0 || strstr(err, path), "the message does not name the file: %s", err);
    return rc;
}

TEST(relabelled_checkpoint_refused) {
    // a Hopper policy relabelled as the Gymnasium Hopper (the same sizes) used to run on that task;
    // checkpoints are sealed with a checksum of their contents, which the edit breaks
    shac_config c;
    const char *src = shac_fixture(&c);
    char from[600], to[600], err[1024];
    snprintf(from, sizeof from, "%s/ckpt.safetensors", src);
    snprintf(to, sizeof to, "%s/files_relabelled.safetensors", test_tmpdir());
    files_edit_header(from, to, "\"env\":\"hopper\"", "\"env\":\"gym-hopper\"");
    double mean, std;
    CHECK(policy_evaluate("gym-hopper", to, 1, 1, &c.physics, &mean, &std, err, sizeof err) != 0,
          "a relabelled Hopper policy ran on the Gymnasium Hopper");
    CHECK(strstr(err, to) && strstr(err, "checksum"), "%s", err);
    // the same edit of a world model, and of a byte of the state inside a resume checkpoint
    char wm[400], bad[400];
    snprintf(wm, sizeof wm, "%s/files_relabel_wm.safetensors", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/files_relabel_wm_bad.safetensors", test_tmpdir());
    make_wm(wm);
    files_edit_header(wm, bad, "\"obs_dim\":\"11\"", "\"obs_dim\":\"12\"");
    CHECK(load_wm(bad, err, sizeof err) != 0 && strstr(err, "checksum"), "an edited world model: %s", err);
}


TEST(world_model_sizes_checked_before_use) {
    char good[400], bad[400], err[1024];
    snprintf(good, sizeof good, "%s/files_wm.safetensors", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/files_wm_bad.safetensors", test_tmpdir());
    make_wm(good);
    CHECK(load_wm(good, err, sizeof err) == 0, "%s", err);
    // sizes whose sums overflow an int (latent + act_dim, obs_dim + task_dim) or need terabytes
    const char *keys[] = {"latent", "obs_dim", "mlp_dim", "enc_dim", "obs_dim", "latent", "num_tasks", "reward_bins"};
    const char *vals[] = {"2147483640", "2147483647", "65536", "1048576", "11abc", "-8", "3", "x"};
    for (int i = 0; i < 8; i++) {
        files_set_meta(good, bad, keys[i], vals[i]);
        CHECK(load_wm(bad, err, sizeof err) != 0, "%s = %s accepted", keys[i], vals[i]);
    }
    // non-finite statistics made `wm eval` print nan and succeed
    files_poison_tensor(good, bad, "rew_rms.mean", NAN);
    CHECK(load_wm(bad, err, sizeof err) != 0 && strstr(err, "rew_rms.mean"), "NaN reward mean accepted: %s", err);
    files_poison_tensor(good, bad, "wm/dynamics.0.weight", INFINITY);
    CHECK(load_wm(bad, err, sizeof err) != 0 && strstr(err, "wm/dynamics.0.weight"), "Inf weight accepted: %s", err);
    files_set_meta(good, bad, "rew_rms.count", "inf");
    CHECK(load_wm(bad, err, sizeof err) != 0, "an infinite normaliser count accepted");
}

// a one-episode Hopper dataset in dir (obs[where] = value when where >= 0)
static void make_dataset(const char *dir, int where, float value) {
    char err[512];
    int next;
    CHECK(ds_open(dir, "hopper", 11, 3, &next, err, sizeof err) == 0, "%s", err);
    ds_episode ep;
    ds_episode_alloc(&ep, 6, 11, 3);
    for (int i = 0; i < 7 * 11; i++) ep.obs[i] = 0.01f * (float)i;
    for (int i = 0; i < 6 * 3; i++) ep.act[i] = 0.1f;
    ep.trunc[5] = 1;
    if (where >= 0) ep.obs[where] = value;
    CHECK(ds_write(dir, next, &ep, err, sizeof err) == 0, "%s", err);
    ds_episode_free(&ep);
}

static int load_ds(const char *dir, char *err, size_t n) {
    ds_dataset d;
    int rc = ds_load(dir, &d, err, n);
    if (rc == 0) ds_free(&d);
    return rc;
}

TEST(dataset_lies_and_bad_values_refused) {
    char dir[400], path[600], err[1024];
    int k = 0;
#define NEXT_DIR() snprintf(dir, sizeof dir, "%s/files_ds_%d", test_tmpdir(), k++)
    NEXT_DIR();
    make_dataset(dir, -1, 0);
    CHECK(load_ds(dir, err, sizeof err) == 0, "%s", err);
    // a directory named like an episode used to ask for 9223372036854775807 bytes
    snprintf(path, sizeof path, "%s/episode-000007.npz", dir);
    CHECK(mkdir(path, 0755) == 0, "mkdir");
    CHECK(load_ds(dir, err, sizeof err) != 0 && strstr(err, path), "a directory as an episode: %s", err);
    // NaN, Inf and absurd observations name the file and where
    float values[] = {NAN, INFINITY, 1e30f};
    for (int i = 0; i < 3; i++) {
        NEXT_DIR();
        make_dataset(dir, 25, values[i]);
        CHECK(load_ds(dir, err, sizeof err) != 0, "observation %g accepted", values[i]);
        CHECK(strstr(err, "episode-000000.npz") && strstr(err, "obs[2, 3]"), "%s", err);
    }
    // dataset.txt sizes are whole numbers
    NEXT_DIR();
    make_dataset(dir, -1, 0);
    snprintf(path, sizeof path, "%s/dataset.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "format = pwm-episodes-1\nenv = hopper\nobs_dim = 11abc\nact_dim = 3\n");
    fclose(f);
    CHECK(load_ds(dir, err, sizeof err) != 0, "obs_dim = 11abc accepted");
    // an empty dataset (its directory listing used to leak)
    NEXT_DIR();
    CHECK(nn_mkdirs(dir) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/dataset.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 3\n");
    fclose(f);
    CHECK(load_ds(dir, err, sizeof err) != 0, "an empty dataset accepted");
#undef NEXT_DIR
}

TEST(npz_structure_lies_refused) {
    char dir[400], path[600], out[600], err[1024];
    snprintf(dir, sizeof dir, "%s/files_npz", test_tmpdir());
    make_dataset(dir, -1, 0);
    snprintf(path, sizeof path, "%s/episode-000000.npz", dir);
    snprintf(out, sizeof out, "%s/files_npz_bad.npz", test_tmpdir());
    npz_file z;
    CHECK(npz_read(path, &z, err, sizeof err) == 0, "%s", err);
    npz_free(&z);
    // the last directory entry claims a 67-byte name that runs past the end record (a heap
    // over-read, visible under ASan when the file size is a multiple of 64)
    files_buf b = files_load(path);
    size_t e = b.n - 22, last = 0;
    for (size_t cd = files_get32(b.p + e + 16); cd < e; cd += 46 + files_get16(b.p + cd + 28)) last = cd;
    files_put16(b.p + last + 28, 67);
    files_save(out, b);
    CHECK(npz_read(out, &z, err, sizeof err) != 0 && strstr(err, "zip directory") && strstr(err, out),
          "a name running past the directory: %s", err);
    files_free(b);
    // 'fortran_order': True with a "False" later in the header (strstr used to find it)
    b = files_load(path);
    char *fo = files_find(b, "'fortran_order': False");
    CHECK(fo, "no fortran_order in the header");
    memcpy(fo + 17, "True ", 5);
    char *pad = strchr(fo, '}');
    memcpy(pad + 2, "False", 5);  // inside the padding spaces
    files_fix_crcs(b);
    files_save(out, b);
    CHECK(npz_read(out, &z, err, sizeof err) != 0 && strstr(err, "fortran_order"), "Fortran order accepted: %s", err);
    files_free(b);
    // two members with one name: numpy takes the last, this reader took the first
    float a[3] = {1, 2, 3}, c[3] = {4, 5, 6};
    npy_array arr[2] = {{"reward", NPY_F4, 1, {3}, a}, {"reward", NPY_F4, 1, {3}, c}};
    CHECK(npz_write(out, arr, 2, err, sizeof err) == 0, "%s", err);
    CHECK(npz_read(out, &z, err, sizeof err) != 0 && strstr(err, "twice"), "a duplicate member accepted: %s", err);
}

TEST(data_errors_free_everything) {
    // wm_evaluate and wm_train on a good and a bad dataset: the good one's episodes used to leak
    // (seen by LeakSanitizer under make test SANITIZE=1; this case checks the messages)
    char good[400], bad[400], wmp[400], err[1024];
    snprintf(good, sizeof good, "%s/files_leak_good", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/files_leak_bad", test_tmpdir());
    snprintf(wmp, sizeof wmp, "%s/files_leak.safetensors", test_tmpdir());
    make_dataset(good, -1, 0);
    make_dataset(bad, 3, NAN);
    make_wm(wmp);
    const char *data[] = {good, bad, NULL};
    wm_eval_result r;
    CHECK(wm_evaluate(wmp, data, 0.5, 2, WM_EVAL_BATCH, &r, err, sizeof err) != 0 && strstr(err, bad), "%s", err);
    const char *one[] = {good, NULL};
    CHECK(wm_evaluate(wmp, one, 0.5, 2, WM_EVAL_BATCH, &r, err, sizeof err) != 0, "a lone episode left none for training");
    CHECK(wm_evaluate("/nonexistent.safetensors", one, 0.0, 2, WM_EVAL_BATCH, &r, err, sizeof err) != 0, "a missing model");
}

// the Mish and ELU kernels on NaN: NaN out, without converting NaN to an integer (UBSan)
TEST(activations_pass_nan_through) {
    nn_graph *g = nn_graph_new(0);
    nn_tensor *x = nn_tensor_new(g, 1, 4, 0);
    x->x[0] = NAN, x->x[1] = -100.0f, x->x[2] = 1.0f, x->x[3] = -1.0f;
    nn_act acts[] = {NN_ACT_MISH, NN_ACT_ELU};
    for (int i = 0; i < 2; i++) {
        nn_tensor *y = nn_activation(g, x, acts[i]);
        CHECK(isnan(y->x[0]) && isfinite(y->x[1]) && isfinite(y->x[2]) && isfinite(y->x[3]), "activation %d", i);
    }
    nn_graph_free(g);
}

static pthread_barrier_t fatal_barrier;

static void *fatal_thread(void *arg) {
    pthread_barrier_wait(&fatal_barrier);
    nn_fatal("MuJoCo: Stack overflow");
}

// what a child calling nn_fatal on `threads` threads at once prints on stderr (plain threads:
// OpenMP's pool does not survive a fork)
static void fatal_race(int threads, char *out, size_t n) {
    int fd[2];
    CHECK(pipe(fd) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        pthread_t t[16];
        pthread_barrier_init(&fatal_barrier, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fatal_thread, NULL);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    for (ssize_t r; got + 1 < n && (r = read(fd[0], out + got, n - 1 - got)) > 0;) got += (size_t)r;
    out[got] = 0;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the child did not exit with status 1");
}

TEST(fatal_errors_print_once) {
    // MuJoCo's errors arrive on every rollout thread at once: "pwm: error: pwm: error: MuJoCo: ..."
    char out[4096];
    for (int rep = 0; rep < 20; rep++) {
        fatal_race(4, out, sizeof out);
        const char *p = strstr(out, "pwm: error: MuJoCo: Stack overflow");
        CHECK(p && !strstr(p + 1, "pwm: error:") && p == out, "run %d printed:\n%s", rep, out);
    }
}

const test_case files_tests[] = {
    {"resume_state_out_of_range_refused", resume_state_out_of_range_refused},
    {"policy_checkpoint_lies_refused", policy_checkpoint_lies_refused},
    {"relabelled_checkpoint_refused", relabelled_checkpoint_refused},
    {"world_model_sizes_checked_before_use", world_model_sizes_checked_before_use},
    {"dataset_lies_and_bad_values_refused", dataset_lies_and_bad_values_refused},
    {"npz_structure_lies_refused", npz_structure_lies_refused},
    {"data_errors_free_everything", data_errors_free_everything},
    {"activations_pass_nan_through", activations_pass_nan_through},
    {"fatal_errors_print_once", fatal_errors_print_once},
    {0},
};

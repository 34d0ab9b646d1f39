// Checkpoints: bit-exact round trips, and truncated, corrupt or mismatched files rejected with
// nothing loaded.
#include <stdio.h>
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "../nn/mlp.h"
#include "test.h"

typedef struct {
    nn_params p;
    nn_mlp m;
} model;

static void model_make(model *mo, int hidden, unsigned seed) {
    nn_params_init(&mo->p, 0);
    nn_mlp_spec spec = {.in = 4, .out = 8, .n_hidden = 1, .hidden = {hidden}, .act = NN_ACT_MISH,
                        .block = NN_BLOCK_NORM_ACT, .layernorm = 1, .out_kind = NN_OUT_SIMNORM, .simnorm_group = 8};
    nn_mlp_declare(&mo->m, &mo->p, "enc", &spec);
    nn_params_alloc(&mo->p);
    nn_rng r;
    nn_rng_init(&r, seed, 0);
    nn_mlp_init(&mo->m, NN_INIT_TORCH, 0, &r);
    for (size_t i = 0; i < mo->p.count; i++) {
        mo->p.m[i] = nn_rng_normal(&r);
        mo->p.v[i] = nn_rng_uniform(&r);
    }
}

// every tensor of a and b equal bit for bit in the array at offset 0 (values), 2 (m) or 3 (v)
static int same_tensors(const nn_params *a, const nn_params *b, int array) {
    const float *x = a->mem + (size_t)array * a->count, *y = b->mem + (size_t)array * b->count;
    for (int i = 0; i < a->n; i++) {
        const nn_param *e = &a->list[i];
        if (memcmp(x + e->offset, y + e->offset, sizeof(float) * (size_t)e->t.n * e->t.d)) return 0;
    }
    return 1;
}

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", test_tmpdir(), name); }

TEST(round_trip_bit_exact) {
    model a, b;
    model_make(&a, 16, 1);
    model_make(&b, 16, 2);
    nn_adam oa = {.step = 1234}, ob = {0};
    char path[300], err[512];
    path_of(path, sizeof path, "rt.safetensors");
    const char *meta[] = {"git_commit", "abc123", "seed", "7", NULL};
    CHECK(nn_params_save(path, &a.p, &oa, meta, err, sizeof err) == 0, "save: %s", err);
    CHECK(nn_params_load(path, &b.p, &ob, err, sizeof err) == 0, "load: %s", err);
    // values and both moments bit-exact (grads are not saved)
    CHECK(same_tensors(&a.p, &b.p, 0), "values differ after reload");
    CHECK(same_tensors(&a.p, &b.p, 2) && same_tensors(&a.p, &b.p, 3), "Adam moments differ after reload");
    CHECK(ob.step == 1234, "Adam step %ld", ob.step);
    // the metadata is there for readers such as Python's safetensors
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "%s", err);
    CHECK(st_meta(&f, "git_commit") && !strcmp(st_meta(&f, "git_commit"), "abc123"), "metadata lost");
    st_free(&f);
    nn_params_free(&a.p);
    nn_params_free(&b.p);
}

TEST(normalizer_and_prefixes) {
    model a, b;
    model_make(&a, 16, 1);
    model_make(&b, 16, 2);
    nn_rms ra, rb;
    nn_rms_init(&ra, 5, 1e-5f, 0);
    nn_rms_init(&rb, 5, 1e-5f, 0);
    float x[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.5f};
    nn_rms_update(&ra, x, 3);
    char path[300], err[512];
    path_of(path, sizeof path, "multi.safetensors");
    st_writer *w = st_writer_new();
    nn_ckpt_write_params(w, "actor.", &a.p, NULL);
    nn_ckpt_write_rms(w, "obs_rms.", &ra);
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "%s", err);
    st_writer_free(w);
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "%s", err);
    CHECK(nn_ckpt_check_params(&f, "actor.", &b.p, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(nn_ckpt_check_rms(&f, "obs_rms.", &rb, err, sizeof err) == 0, "%s", err);
    // asking for optimizer state that was not saved is an error
    nn_adam opt = {0};
    CHECK(nn_ckpt_check_params(&f, "actor.", &b.p, &opt, err, sizeof err) != 0 && strstr(err, "adam"),
          "missing Adam state accepted: %s", err);
    nn_ckpt_read_params(&f, "actor.", &b.p, NULL);
    nn_ckpt_read_rms(&f, "obs_rms.", &rb);
    CHECK(same_tensors(&a.p, &b.p, 0), "values differ");
    CHECK(!memcmp(ra.mean, rb.mean, sizeof(float) * 5) && !memcmp(ra.var, rb.var, sizeof(float) * 5) &&
              ra.count == rb.count, "normaliser differs");
    st_free(&f);
    nn_rms_free(&ra);
    nn_rms_free(&rb);
    nn_params_free(&a.p);
    nn_params_free(&b.p);
}

TEST(mismatch_rejected_nothing_loaded) {
    model a, small;
    model_make(&a, 16, 1);
    model_make(&small, 8, 3);
    char path[300], err[512];
    path_of(path, sizeof path, "big.safetensors");
    CHECK(nn_params_save(path, &a.p, NULL, NULL, err, sizeof err) == 0, "%s", err);
    float *before = nn_malloc(sizeof(float) * small.p.count);
    memcpy(before, small.p.values, sizeof(float) * small.p.count);
    CHECK(nn_params_load(path, &small.p, NULL, err, sizeof err) != 0, "a wrong-shape checkpoint loaded");
    CHECK(strstr(err, "shape") && strstr(err, "enc.0.weight"), "message: %s", err);
    CHECK(!memcmp(before, small.p.values, sizeof(float) * small.p.count), "a failed load changed the model");
    // a model with a tensor the file lacks, and a file with a tensor the model lacks
    nn_params other;
    nn_params_init(&other, 0);
    nn_params_add(&other, "enc.0.weight", 16, 4);
    nn_params_alloc(&other);
    CHECK(nn_params_load(path, &other, NULL, err, sizeof err) != 0 && strstr(err, "does not have"),
          "extra tensors accepted: %s", err);
    nn_params_free(&other);
    nn_params_init(&other, 0);
    nn_params_add(&other, "enc.9.weight", 2, 2);
    nn_params_alloc(&other);
    CHECK(nn_params_load(path, &other, NULL, err, sizeof err) != 0 && strstr(err, "no tensor 'enc.9.weight'"),
          "missing tensor accepted: %s", err);
    nn_params_free(&other);
    nn_free(before);
    nn_params_free(&a.p);
    nn_params_free(&small.p);
}

TEST(truncated_and_corrupt_rejected) {
    model a, b;
    model_make(&a, 16, 1);
    model_make(&b, 16, 2);
    char path[300], bad[300], err[512];
    path_of(path, sizeof path, "good.safetensors");
    path_of(bad, sizeof bad, "bad.safetensors");
    CHECK(nn_params_save(path, &a.p, NULL, NULL, err, sizeof err) == 0, "%s", err);
    FILE *fp = fopen(path, "rb");
    CHECK(fp, "cannot reopen");
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    float *before = nn_malloc(sizeof(float) * b.p.count);
    memcpy(before, b.p.values, sizeof(float) * b.p.count);
    // cut at several points, and flip a header byte
    size_t cuts[] = {4, 20, n / 2, n - 1};
    for (int i = 0; i < 5; i++) {
        fp = fopen(bad, "wb");
        if (i < 4) {
            fwrite(buf, 1, cuts[i], fp);
        } else {
            buf[12] ^= 0x55;
            fwrite(buf, 1, n, fp);
        }
        fclose(fp);
        CHECK(nn_params_load(bad, &b.p, NULL, err, sizeof err) != 0, "damaged file %d loaded", i);
        CHECK(strstr(err, "bad.safetensors"), "message does not name the file: %s", err);
        CHECK(!memcmp(before, b.p.values, sizeof(float) * b.p.count), "a failed load changed the model");
    }
    nn_free(before);
    nn_params_free(&a.p);
    nn_params_free(&b.p);
}

const test_case checkpoint_tests[] = {
    {"round_trip_bit_exact", round_trip_bit_exact},
    {"normalizer_and_prefixes", normalizer_and_prefixes},
    {"mismatch_rejected_nothing_loaded", mismatch_rejected_nothing_loaded},
    {"truncated_and_corrupt_rejected", truncated_and_corrupt_rejected},
    {0},
};

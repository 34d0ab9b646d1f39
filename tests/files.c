#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../nn/safetensors.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/npy.h"
#include "../worldmodel/wm.h"
#include "test.h"

files_buf files_load(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    files_buf b = {nn_malloc((size_t)n + 1), (size_t)n};
    size_t got = fread(b.p, 1, b.n, f);
    fclose(f);
    if (got != b.n) nn_free(b.p);
    CHECK(got == b.n, "short read of %s", path);
    return b;
}

void files_save(const char *path, files_buf b) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "cannot write %s", path);
    size_t put = fwrite(b.p, 1, b.n, f);
    fclose(f);
    CHECK(put == b.n, "short write of %s", path);
}

void files_free(files_buf b) { nn_free(b.p); }

void files_copy(const char *from, const char *to) {
    files_buf b = files_load(from);
    files_save(to, b);
    files_free(b);
}

char *files_find(files_buf b, const char *s) { return memmem(b.p, b.n, s, strlen(s)); }

uint16_t files_get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
uint32_t files_get32(const unsigned char *p) { return (uint32_t)files_get16(p) | (uint32_t)files_get16(p + 2) << 16; }
void files_put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
void files_put32(unsigned char *p, uint32_t v) { files_put16(p, (uint16_t)v), files_put16(p + 2, (uint16_t)(v >> 16)); }

// `from` rewritten into `to`: metadata key = value (NULL: dropped; key NULL: none changed), the
// first value of tensor `poison` set to v
static void rewrite(const char *from, const char *to, const char *key, const char *value, const char *poison, float v) {
    st_file f;
    char err[1024];
    CHECK(st_read(from, &f, err, sizeof err) == 0, "%s", err);
    st_writer *w = st_writer_new();
    for (int i = 0; i < f.n; i++) {
        const st_entry *e = &f.entries[i];
        if (poison && !strcmp(e->name, poison) && e->nbytes) ((float *)(f.data + e->offset))[0] = v;
        st_writer_add(w, e->name, e->ndim, e->shape, st_data(&f, e));
    }
    for (int i = 0; i < f.n_meta; i++)
        if (!key || strcmp(f.meta_keys[i], key)) st_writer_meta(w, f.meta_keys[i], f.meta_vals[i]);
    if (key && value) st_writer_meta(w, key, value);
    int rc = st_writer_commit(w, to, err, sizeof err);
    st_writer_free(w);
    st_free(&f);
    CHECK(rc == 0, "%s", err);
}

void files_set_meta(const char *from, const char *to, const char *key, const char *value) {
    rewrite(from, to, key, value, NULL, 0);
}

void files_poison_tensor(const char *from, const char *to, const char *name, float v) {
    rewrite(from, to, NULL, NULL, name, v);
}

void files_set_state_token(const char *from, const char *to, int k, const char *value) {
    st_file f;
    char err[1024];
    CHECK(st_read(from, &f, err, sizeof err) == 0, "%s", err);
    const char *s = st_meta(&f, "state");
    size_t n = s ? strlen(s) : 0;
    char *out = nn_malloc(n + strlen(value) + 2);
    size_t o = 0;
    int tok = 0, found = 0;
    for (const char *p = s; p && *p;) {
        size_t len = strcspn(p, " ");
        const char *src = tok == k ? value : p;
        size_t sl = tok == k ? strlen(value) : len;
        found |= tok == k;
        memcpy(out + o, src, sl);
        o += sl;
        p += len;
        if (*p == ' ') out[o++] = ' ', p++;
        tok++;
    }
    out[o] = 0;
    st_free(&f);
    if (found) files_set_meta(from, to, "state", out);
    nn_free(out);
    CHECK(found, "%s: its state has no token %d", from, k);
}

void files_fix_crcs(files_buf b) {
    if (b.n < 22) return;
    size_t e = b.n - 22;
    if (files_get32(b.p + e) != 0x06054b50u) return;
    size_t cd = files_get32(b.p + e + 16);
    for (int i = 0, n = files_get16(b.p + e + 10); i < n && cd + 46 <= e; i++) {
        size_t loc = files_get32(b.p + cd + 42), size = files_get32(b.p + cd + 20);
        if (loc + 30 <= b.n) {
            size_t data = loc + 30 + files_get16(b.p + loc + 26) + files_get16(b.p + loc + 28);
            if (data <= b.n && size <= b.n - data) {
                uint32_t crc = nn_crc32(0, b.p + data, size);
                files_put32(b.p + loc + 14, crc);
                files_put32(b.p + cd + 16, crc);
            }
        }
        cd += 46 + files_get16(b.p + cd + 28) + files_get16(b.p + cd + 30) + files_get16(b.p + cd + 32);
    }
}

void files_save_wm(const char *path, int width, int heads, unsigned long seed) {
    world_model w;
    wm_config c = {.obs_dim = 11, .act_dim = 3, .latent = 16, .enc_dim = width, .enc_layers = 1, .mlp_dim = width,
                   .activation = WM_SIMNORM, .reward_bins = heads ? 101 : 0, .termination = heads};
    wm_init(&w, &c, seed);
    snprintf(w.tasks, sizeof w.tasks, "hopper");
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    char err[512];
    int rc = wm_save(&w, NULL, &rms, 0, path, err, sizeof err);
    nn_rms_free(&rms);
    wm_free(&w);
    CHECK(rc == 0, "%s", err);
}

int files_load_wm(const char *path, char *err, size_t n) {
    world_model w;
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    int rc = wm_load(&w, NULL, &rms, NULL, path, err, n);
    if (rc == 0) wm_free(&w);
    nn_rms_free(&rms);
    return rc;
}

void files_edit_header(const char *from, const char *to, const char *old, const char *new_text) {
    files_buf b = files_load(from);
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | b.p[k];
    char *at = memmem(b.p + 8, (size_t)hl, old, strlen(old));
    if (!at) files_free(b);
    CHECK(at, "%s: no '%s' in its header", from, old);
    size_t before = (size_t)(at - (char *)b.p), lo = strlen(old), ln = strlen(new_text);
    files_buf o = {nn_malloc(b.n + ln), b.n - lo + ln};
    memcpy(o.p, b.p, before);
    memcpy(o.p + before, new_text, ln);
    memcpy(o.p + before + ln, b.p + before + lo, b.n - before - lo);
    hl = hl - lo + ln;
    for (int k = 0; k < 8; k++) o.p[k] = (unsigned char)(hl >> (8 * k));
    files_save(to, o);
    files_free(b), files_free(o);
}

void files_random_dataset(const char *dir, unsigned long env_seed, int steps, nn_rng *r) {
    char err[512];
    const env_task *t = env_find("hopper");
    env_batch *e = env_batch_new(t, NULL, NULL, 4, env_seed, 0, err, sizeof err);
    CHECK(e, "%s", err);
    ds_recorder rec;
    CHECK(ds_recorder_open(&rec, dir, "hopper", 4, t->obs_dim, t->act_dim, t->episode_len, e->obs, err, sizeof err) == 0,
          "%s", err);
    double u[4 * 3];
    for (int k = 0; k < steps; k++) {
        for (int i = 0; i < 12; i++) u[i] = 2 * nn_rng_uniform(r) - 1;
        env_step(e, u, 0);
        CHECK(ds_recorder_step(&rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, sizeof err) == 0,
              "%s", err);
    }
    CHECK(ds_recorder_close(&rec, err, sizeof err) == 0, "%s", err);
    env_batch_free(e);
}

const char *files_pwm_binary(void) {
    static char path[1100];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 8);
    CHECK(n > 0, "cannot find this test binary");
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, "pwm");
    if (!nn_file_exists(path)) test_skip("%s not built (make builds it with the tests)", path);
    return path;
}

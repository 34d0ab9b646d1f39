// Datasets: .npz round trips, and truncated, corrupt or mismatched files rejected.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/npy.h"
#include "test.h"

static void make_episode(ds_episode *ep, int T, int O, int A, unsigned seed) {
    ds_episode_alloc(ep, T, O, A);
    for (int i = 0; i < (T + 1) * O; i++) ep->obs[i] = (float)(seed * 1000 + i) * 0.25f;
    for (int i = 0; i < T * A; i++) ep->act[i] = -0.5f + (float)i / (float)(T * A);
    for (int t = 0; t < T; t++) ep->rew[t] = (float)t * 1.5f - 3.0f;
    ep->term[T - 1] = 1;
}

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", test_tmpdir(), name); }

TEST(round_trip_and_append) {
    char dir[300], err[1024];
    path_in(dir, sizeof dir, "ds");
    int next;
    CHECK(ds_open(dir, "hopper", 11, 3, &next, err, sizeof err) == 0 && next == 0, "%s", err);
    ds_episode a, b;
    make_episode(&a, 7, 11, 3, 1);
    make_episode(&b, 1, 11, 3, 2);
    CHECK(ds_write(dir, next, &a, err, sizeof err) == 0, "%s", err);
    // appending later: the next index follows the files present
    CHECK(ds_open(dir, "hopper", 11, 3, &next, err, sizeof err) == 0 && next == 1, "next index %d", next);
    CHECK(ds_write(dir, next, &b, err, sizeof err) == 0, "%s", err);
    ds_dataset d;
    CHECK(ds_load(dir, &d, err, sizeof err) == 0, "%s", err);
    CHECK(d.n == 2 && d.steps == 8 && !strcmp(d.env, "hopper") && d.obs_dim == 11 && d.act_dim == 3, "dataset header");
    const ds_episode *x = &d.eps[0];
    CHECK(x->T == 7 && !memcmp(x->obs, a.obs, sizeof(float) * 8 * 11) && !memcmp(x->act, a.act, sizeof(float) * 21) &&
              !memcmp(x->rew, a.rew, sizeof(float) * 7) && x->term[6] == 1 && x->trunc[6] == 0,
          "episode 0 differs after the round trip");
    CHECK(d.eps[1].T == 1 && !memcmp(d.eps[1].obs, b.obs, sizeof(float) * 22), "episode 1 differs");
    ds_free(&d);
    // another task's episodes are refused
    CHECK(ds_open(dir, "ant", 37, 8, &next, err, sizeof err) != 0 && strstr(err, "hopper"), "%s", err);
    ds_episode_free(&a);
    ds_episode_free(&b);
}

// write one file's bytes back with a change
static void rewrite(const char *src, const char *dst, long cut, long flip) {
    FILE *f = fopen(src, "rb");
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (flip >= 0) buf[flip] ^= 0x40;
    f = fopen(dst, "wb");
    fwrite(buf, 1, cut >= 0 ? (size_t)cut : n, f);
    fclose(f);
}

TEST(bad_files_rejected) {
    char dir[300], err[1024], good[400], bad[400];
    path_in(dir, sizeof dir, "dsbad");
    int next;
    CHECK(ds_open(dir, "hopper", 11, 3, &next, err, sizeof err) == 0, "%s", err);
    ds_episode a;
    make_episode(&a, 5, 11, 3, 3);
    CHECK(ds_write(dir, 0, &a, err, sizeof err) == 0, "%s", err);
    snprintf(good, sizeof good, "%s/episode-000000.npz", dir);
    snprintf(bad, sizeof bad, "%s/episode-000001.npz", dir);
    npz_file f;
    // truncated at several points, and a flipped data byte (CRC), a flipped header byte
    long cuts[] = {10, 100, 400};
    for (int i = 0; i < 3; i++) {
        rewrite(good, bad, cuts[i], -1);
        CHECK(npz_read(bad, &f, err, sizeof err) != 0 && strstr(err, "episode-000001"), "cut %ld accepted", cuts[i]);
        ds_dataset d;
        CHECK(ds_load(dir, &d, err, sizeof err) != 0 && strstr(err, "episode-000001"), "dataset with a bad file loaded");
    }
    rewrite(good, bad, -1, 200);
    CHECK(npz_read(bad, &f, err, sizeof err) != 0 && strstr(err, "CRC"), "corrupt data accepted: %s", err);
    unlink(bad);
    // a dataset directory whose dataset.txt says other sizes
    char dir2[300], meta[400];
    path_in(dir2, sizeof dir2, "dsdims");
    CHECK(ds_open(dir2, "hopper", 12, 3, &next, err, sizeof err) == 0, "%s", err);
    CHECK(ds_write(dir2, 0, &a, err, sizeof err) == 0, "%s", err);
    ds_dataset d;
    CHECK(ds_load(dir2, &d, err, sizeof err) != 0 && strstr(err, "shapes"), "mismatched episode loaded: %s", err);
    // no dataset.txt
    snprintf(meta, sizeof meta, "%s/dataset.txt", dir2);
    unlink(meta);
    CHECK(ds_load(dir2, &d, err, sizeof err) != 0 && strstr(err, "not a dataset"), "%s", err);
    ds_episode_free(&a);
}

TEST(recorder) {
    // two environments, episodes capped at 3 steps: env 0 terminates at its 2nd step, env 1 runs
    // into the cap; what is left at the end is written as truncated
    char dir[300], err[1024];
    path_in(dir, sizeof dir, "dsrec");
    ds_recorder r;
    double obs[4] = {0, 0, 10, 10}, act[2] = {0.5, -0.5}, rew[2] = {1, 2};
    CHECK(ds_recorder_open(&r, dir, "toy", 2, 2, 1, 3, obs, err, sizeof err) == 0, "%s", err);
    unsigned char none[2] = {0, 0}, term0[2] = {1, 0};
    for (int t = 0; t < 4; t++) {
        double fin[4] = {t + 1.0, t + 1.0, 10 + t + 1.0, 10 + t + 1.0};
        CHECK(ds_recorder_step(&r, act, rew, t == 1 ? term0 : none, none, fin, fin, err, sizeof err) == 0, "%s", err);
    }
    CHECK(ds_recorder_close(&r, err, sizeof err) == 0, "%s", err);
    ds_dataset d;
    CHECK(ds_load(dir, &d, err, sizeof err) == 0, "%s", err);
    // env 0: [2 steps, terminated], then [2 steps, truncated at the end]; env 1: [3, cap], [1, end]
    CHECK(d.n == 4 && d.steps == 8, "%d episodes, %ld steps", d.n, d.steps);
    int terminated = 0, truncated = 0;
    for (int i = 0; i < d.n; i++) {
        terminated += d.eps[i].term[d.eps[i].T - 1];
        truncated += d.eps[i].trunc[d.eps[i].T - 1];
    }
    CHECK(terminated == 1 && truncated == 3, "terminated %d, truncated %d", terminated, truncated);
    ds_free(&d);
}

const test_case dataset_tests[] = {
    {"recorder", recorder},
    {"round_trip_and_append", round_trip_and_append},
    {"bad_files_rejected", bad_files_rejected},
    {0},
};

// A deterministic fuzz test of every reader: seed files (a SHAC checkpoint read as a policy, a
// world model, an .npz episode, dataset.txt and a checkpoint's resume state) mutated by truncation,
// bit flips, header-length, offset and size lies, wrong dtypes and shapes, zip CRC/size/name-length
// lies and NaN/Inf payloads. Each variant must be rejected with a message naming the file, or be
// accepted for a reason the case states and checks (a payload changed to other valid numbers, a
// byte inside a name or value the reader does not use). Nothing may crash, hang, leak or trip the
// sanitizers (make test SANITIZE=1). The random stream is fixed: the same variants every run.
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/rng.h"
#include "../nn/safetensors.h"
#include "../policy/policy.h"
#include "../policy/shac.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/npy.h"
#include "../worldmodel/wm.h"
#include "files.h"
#include "test.h"

typedef enum { MUST_REJECT, MAY_ACCEPT } expect;

typedef struct {
    int variants, rejected, accepted;
} tally;

// one variant's verdict: rc from the reader, err its message (NULL: not available), why the
// acceptance reason when allowed (NULL: the variant must be rejected)
static void judge(tally *t, const char *what, int k, const char *path, int rc, const char *err, const char *why) {
    t->variants++;
    if (rc != 0) {
        t->rejected++;
        CHECK(!err || strstr(err, path), "%s variant %d: the message does not name the file: %s", what, k, err);
    } else {
        t->accepted++;
        CHECK(why, "%s variant %d was accepted", what, k);
    }
}

static char *scratch(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/fuzz_%s", test_tmpdir(), name);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// safetensors: a policy checkpoint and a world model

typedef int (*st_target)(const char *path, char *err, size_t n);
typedef int (*st_reads)(const char *tensor);  // whether the target reads that tensor

// policy_load reads the actor's weights and the observation statistics, not the critics, the
// target critic or any Adam moments
static int policy_reads(const char *t) { return !strncmp(t, "a/actor.", 8) || !strncmp(t, "obs_rms.", 8); }
static int model_reads(const char *t) { return !strncmp(t, "wm/", 3) || !strncmp(t, "rew_rms.", 8); }

// the tensor of the original file that holds data byte `off`
static const char *tensor_at(const st_file *f, size_t off) {
    for (int i = 0; i < f->n; i++)
        if (off >= f->entries[i].offset && off < f->entries[i].offset + f->entries[i].nbytes) return f->entries[i].name;
    return "";
}

static int load_policy(const char *path, char *err, size_t n) {
    trained_policy *p = policy_load(path, "hopper", err, n);
    policy_free(p);
    return p ? 0 : -1;
}

static int load_model(const char *path, char *err, size_t n) { return files_load_wm(path, err, n); }

// the offset of the data section, and whether byte i of the JSON header lies inside a string
static size_t st_data_start(files_buf b) {
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | b.p[k];
    return 8 + (size_t)hl;
}

static int in_json_string(files_buf b, size_t at) {
    int inside = 0;
    for (size_t i = 8; i < at; i++)
        if (b.p[i] == '"' && b.p[i - 1] != '\\') inside = !inside;
    return inside && b.p[at] != '"';
}

// why a bit flip at `at` may be accepted: a float of the data section that stays finite (just
// another weight), or a byte inside a JSON string (a metadata value such as the git commit or a
// state digit that still parses, or the name of a tensor the reader does not use)
static const char *flip_reason(files_buf b, size_t at, const st_file *f, st_reads reads) {
    size_t d = st_data_start(b);
    if (at >= d) {
        float v;
        memcpy(&v, b.p + d + (at - d) / 4 * 4, 4);
        if (!reads(tensor_at(f, at - d))) return "a tensor the reader does not use";
        return isfinite(v) ? "a weight changed to another finite number" : NULL;
    }
    return in_json_string(b, at) ? "a byte inside a name or value that still reads as valid" : NULL;
}

static void fuzz_safetensors(tally *t, const char *what, const char *seed, st_target load, st_reads reads,
                             nn_rng *r) {
    char path[400], err[2048], name[64];
    snprintf(name, sizeof name, "%s.safetensors", what);
    scratch(path, sizeof path, name);
    CHECK(load(seed, err, sizeof err) == 0, "%s seed: %s", what, err);
    st_file f;
    CHECK(st_read(seed, &f, err, sizeof err) == 0, "%s", err);
    files_buf orig = files_load(seed);
    size_t n = orig.n, d = st_data_start(orig);
    int k = 0;
    // truncations: everywhere short of the whole file
    for (int i = 0; i < 30; i++, k++) {
        files_buf b = files_load(seed);
        b.n = i < 10 ? (size_t)i * 3 : i < 20 ? d - 1 - (size_t)(i - 10) * 7 : n - 1 - nn_rng_u32(r) % (n - d);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load(path, err, sizeof err), err, NULL);
    }
    // bit flips
    for (int i = 0; i < 60; i++, k++) {
        files_buf b = files_load(seed);
        size_t at = i < 30 ? nn_rng_u32(r) % d : d + nn_rng_u32(r) % (n - d);
        b.p[at] ^= (unsigned char)(1u << (nn_rng_u32(r) % 8));
        files_save(path, b);
        const char *why = flip_reason(b, at, &f, reads);
        files_free(b);
        judge(t, what, k, path, load(path, err, sizeof err), err, why);
    }
    // header-length lies
    uint64_t lies[] = {0, 1, 7, d - 9, d - 7, n - 8, n - 7, n, (uint64_t)1 << 40, UINT64_MAX};
    for (int i = 0; i < 10; i++, k++) {
        files_buf b = files_load(seed);
        for (int j = 0; j < 8; j++) b.p[j] = (unsigned char)(lies[i] >> (8 * j));
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load(path, err, sizeof err), err, NULL);
    }
    // offset lies, wrong dtypes and shapes: edit the JSON text, same length
    const char *from[] = {"\"F32\"", "\"F32\"", "\"F32\"", "\"data_offsets\":[0,", "\"shape\":[", "\"shape\":[1"};
    const char *to[] = {"\"F16\"", "\"I32\"", "\"f32\"", "\"data_offsets\":[4,", "\"shape\":[9", "\"shape\":[3"};
    for (int i = 0; i < 6; i++, k++) {
        files_buf b = files_load(seed);
        char *at = files_find(b, from[i]);
        if (at) memcpy(at, to[i], strlen(to[i]));
        files_save(path, b);
        files_free(b);
        // "shape":[9... makes one tensor's shape disagree with its offsets (or the model's)
        judge(t, what, k, path, load(path, err, sizeof err), err, at ? NULL : "the seed has no such text");
    }
    // NaN and Inf payloads at random floats of the data section
    for (int i = 0; i < 14; i++, k++) {
        files_buf b = files_load(seed);
        float v = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
        size_t at = d + (nn_rng_u32(r) % ((n - d) / 4)) * 4;
        memcpy(b.p + at, &v, 4);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load(path, err, sizeof err), err,
              reads(tensor_at(&f, at - d)) ? NULL : "a tensor the reader does not use");
    }
    files_free(orig);
    st_free(&f);
}

// ---------------------------------------------------------------------------------------------
// .npz episodes and dataset.txt, read through ds_load

static void write_meta(const char *dir, const char *text) {
    char path[600];
    snprintf(path, sizeof path, "%s/dataset.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static const char *GOOD_META = "format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 3\n";

static int load_dataset(const char *dir, char *err, size_t n) {
    ds_dataset d;
    int rc = ds_load(dir, &d, err, n);
    if (rc == 0) ds_free(&d);
    return rc;
}

// the end of the npy header of the member whose local header is at loc (its data start)
static size_t member_data(files_buf b, size_t loc) {
    size_t data = loc + 30 + files_get16(b.p + loc + 26) + files_get16(b.p + loc + 28);
    return data + 10 + files_get16(b.p + data + 8);
}

// why a payload change that the CRC repair let through may be accepted: the arrays still hold
// finite values within range and end flags only on the last step (checked by loading the
// original layout's values: a float member stays finite, a flag member stays a valid flag)
static const char *payload_reason(files_buf b, size_t at, size_t start, int is_float) {
    if (!is_float) return "a flag byte changed (valid unless set before the last step)";
    float v;
    memcpy(&v, b.p + start + (at - start) / 4 * 4, 4);
    return isfinite(v) && fabsf(v) <= 1e9f ? "a float changed to another finite number" : NULL;
}

// whether the .npz at path reads as arrays of the same names, dtypes and shapes as orig's
static int same_arrays(files_buf orig, const char *path) {
    char err[512], tmp[700];
    snprintf(tmp, sizeof tmp, "%s.orig", path);
    files_save(tmp, orig);
    npz_file a, b;
    int same = npz_read(tmp, &a, err, sizeof err) == 0;
    if (!same) return 0;
    if (npz_read(path, &b, err, sizeof err) == 0) {
        same = a.n == b.n;
        for (int i = 0; same && i < a.n; i++)
            same = !strcmp(a.arrays[i].name, b.arrays[i].name) && a.arrays[i].dtype == b.arrays[i].dtype &&
                   a.arrays[i].ndim == b.arrays[i].ndim &&
                   !memcmp(a.arrays[i].shape, b.arrays[i].shape, sizeof(int64_t) * (size_t)a.arrays[i].ndim);
        npz_free(&b);
    } else {
        same = 0;
    }
    npz_free(&a);
    return same;
}

static void fuzz_npz(tally *t, const char *seed_dir, nn_rng *r) {
    char dir[400], path[600], err[2048], seed[600];
    scratch(dir, sizeof dir, "npz");
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    write_meta(dir, GOOD_META);
    snprintf(path, sizeof path, "%s/episode-000000.npz", dir);
    snprintf(seed, sizeof seed, "%s/episode-000000.npz", seed_dir);
    files_buf orig = files_load(seed);
    size_t n = orig.n, e = n - 22, cd0 = files_get32(orig.p + e + 16);
    // the members' local headers and their data ranges (obs, action, reward: floats; flags: bytes)
    size_t loc[5], start[5], end[5];
    int m = 0;
    for (size_t cd = cd0; cd < e && m < 5; cd += 46 + files_get16(orig.p + cd + 28), m++) {
        loc[m] = files_get32(orig.p + cd + 42);
        start[m] = member_data(orig, loc[m]);
        end[m] = loc[m] + 30 + files_get16(orig.p + loc[m] + 26) + files_get32(orig.p + loc[m] + 18);
    }
    CHECK(m == 5, "the seed episode has %d members", m);
    int k = 0;
    const char *what = "npz";
    // truncations
    for (int i = 0; i < 30; i++, k++) {
        files_buf b = files_load(seed);
        b.n = i < 10 ? (size_t)i * 5 : n - 1 - nn_rng_u32(r) % (n - 1);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, NULL);
    }
    // bit flips: without CRC repair every one must be caught (by the CRC or the structure checks)
    for (int i = 0; i < 50; i++, k++) {
        files_buf b = files_load(seed);
        size_t at = nn_rng_u32(r) % n;
        b.p[at] ^= (unsigned char)(1u << (nn_rng_u32(r) % 8));
        files_save(path, b);
        // a flip in a zip field the reader does not use (versions, times, attributes, the end
        // record's disk numbers) changes nothing it reads
        // (the reader takes method, CRC, sizes and names from the directory, not the local headers)
        const char *why = NULL;
        for (int j = 0; j < m; j++)
            if ((at >= loc[j] + 4 && at < loc[j] + 26) ||
                (at >= loc[j] + 30 && at < loc[j] + 30 + files_get16(orig.p + loc[j] + 26)))
                why = "a local header's version, flags, method, time, CRC, sizes or name (read from the directory)";
        if (at >= cd0 && at < e) {
            size_t cd = cd0;
            while (cd + 46 + files_get16(orig.p + cd + 28) <= at) cd += 46 + files_get16(orig.p + cd + 28);
            size_t off = at - cd;
            if ((off >= 4 && off < 10) || (off >= 12 && off < 16) || (off >= 34 && off < 42))
                why = "a directory entry's versions, flags, time, disk or attributes";
        }
        if ((at >= e + 4 && at < e + 10) || (at >= e + 12 && at < e + 16) || at >= e + 20)
            why = "the end record's disk numbers, directory size or comment length";
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, why);
    }
    // bit flips behind a repaired CRC: they reach the .npy parser and the value checks
    for (int i = 0; i < 40; i++, k++) {
        files_buf b = files_load(seed);
        int j = (int)(nn_rng_u32(r) % 5);
        size_t h = loc[j] + 30 + files_get16(b.p + loc[j] + 26);  // the member's .npy header
        size_t at = i < 20 ? h + nn_rng_u32(r) % (start[j] - h) : start[j] + nn_rng_u32(r) % (end[j] - start[j]);
        b.p[at] ^= (unsigned char)(1u << (nn_rng_u32(r) % 8));
        files_fix_crcs(b);
        files_save(path, b);
        const char *why = NULL;
        if (at >= start[j]) why = payload_reason(b, at, start[j], j < 3);
        else if (same_arrays(orig, path))
            why = "the .npy header still gives the same dtype, order and shape (padding, spacing, a skipped byte)";
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, why);
    }
    // zip lies: CRC, sizes, offsets, name lengths, member counts, the directory's offset
    for (int i = 0; i < 24; i++, k++) {
        files_buf b = files_load(seed);
        size_t cd = cd0;
        for (int j = 0, target = i % 5; j < target; j++) cd += 46 + files_get16(b.p + cd + 28);
        int lie = i / 5 < 4 ? i % 4 : i % 8;
        uint32_t big = 0xFFFFFFF0u;
        switch (lie) {
        case 0: files_put32(b.p + cd + 16, files_get32(b.p + cd + 16) ^ 1); break;          // CRC
        case 1: files_put32(b.p + cd + 20, files_get32(b.p + cd + 20) + 4);                 // sizes
                files_put32(b.p + cd + 24, files_get32(b.p + cd + 24) + 4); break;
        case 2: files_put32(b.p + cd + 42, i < 10 ? big : files_get32(b.p + cd + 42) + 1); break;  // offset
        case 3: files_put16(b.p + cd + 28, i < 10 ? 67 : 0xFFFF); break;                    // name length
        case 4: files_put16(b.p + e + 10, 200); break;                                       // member count
        case 5: files_put32(b.p + e + 16, big); break;                                       // directory offset
        case 6: files_put32(b.p + cd + 20, 5); break;                                        // compressed size
        default: files_put16(b.p + cd + 10, 8); break;                                       // deflate
        }
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, NULL);
    }
    // .npy header lies behind a repaired CRC: dtype, shape, header length, version, Fortran order
    const char *from[] = {"'<f4'", "'<f4'", "'|u1'", "(7, 11)", "(7, 11)", "(6, 3)", "(6,)", "False", "\x93NUMPY\x01"};
    const char *to[] = {"'<f8'", "'>f4'", "'<i4'", "(8, 11)", "(7, 12)", "(3, 6)", "(9,)", "True ", "\x93NUMPY\x03"};
    for (int i = 0; i < 9; i++, k++) {
        files_buf b = files_load(seed);
        char *at = files_find(b, from[i]);
        CHECK(at, "the seed has no %s", from[i]);
        memcpy(at, to[i], strlen(to[i]));
        files_fix_crcs(b);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, NULL);
    }
    for (int i = 0; i < 4; i++, k++) {
        files_buf b = files_load(seed);
        size_t hl = start[0] - (loc[0] + 30 + files_get16(b.p + loc[0] + 26)) - 10;
        files_put16(b.p + loc[0] + 30 + files_get16(b.p + loc[0] + 26) + 8, (uint16_t)(i == 0 ? 0 : i == 1 ? hl + 1 : i == 2 ? 4097 : 0xFFFF));
        files_fix_crcs(b);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, NULL);
    }
    // NaN and Inf payloads in the float members, CRC repaired
    for (int i = 0; i < 15; i++, k++) {
        files_buf b = files_load(seed);
        int j = i % 3;
        float v = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -3e38f;
        size_t at = start[j] + (nn_rng_u32(r) % ((end[j] - start[j]) / 4)) * 4;
        memcpy(b.p + at, &v, 4);
        files_fix_crcs(b);
        files_save(path, b);
        files_free(b);
        judge(t, what, k, path, load_dataset(dir, err, sizeof err), err, NULL);
    }
    files_free(orig);
    // dataset.txt: the claims about the episodes (the episode file is the good seed again)
    files_copy(seed, path);
    struct { const char *text, *why; } metas[] = {
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 3\n", "the original"},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11abc\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 12\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 0\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = -11\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 99999999999\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 2147483648\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 0x0b\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11.0\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-2\nenv = hopper\nobs_dim = 11\nact_dim = 3\n", NULL},
        {"env = hopper\nobs_dim = 11\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nobs_dim = 11\nact_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nact_dim = 3\n", NULL},
        {"", NULL},
        {"\x93NUMPY garbage\n", NULL},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 3\nobs_dim = 3\n", NULL},
        {"format = pwm-episodes-1\nenv = ant\nobs_dim = 11\nact_dim = 3\n",
         "another task's name with the Hopper's sizes: datasets do not know the tasks (the learners "
         "and wm train compare the name with the task they are given)"},
        {"format = pwm-episodes-1\nenv = hopper\nobs_dim = 11\nact_dim = 3\ncomment = x\n", "an unknown key"},
        {"  format   =   pwm-episodes-1  \nenv=hopper\nobs_dim =11\nact_dim= 3\n", "other spacing"},
    };
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++, k++) {
        write_meta(dir, metas[i].text);
        char txt[700];
        snprintf(txt, sizeof txt, "%s", dir);  // the messages name the directory and dataset.txt
        judge(t, "dataset.txt", (int)i, txt, load_dataset(dir, err, sizeof err), err, metas[i].why);
    }
}

// ---------------------------------------------------------------------------------------------
// resume state: pwm shac --resume with a mutated checkpoint (its message captured from stderr)

static int resume(const shac_config *c, const char *dir, char *err, size_t n) {
    char log[600];
    snprintf(log, sizeof log, "%s/stderr.txt", dir);
    fflush(stderr), fflush(stdout);
    int saved = dup(2), saved_out = dup(1), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(fd, 2), dup2(devnull, 1);
    int rc = shac_train(c, dir, 1, 1);
    fflush(stderr), fflush(stdout);
    dup2(saved, 2), dup2(saved_out, 1);
    close(fd), close(saved), close(saved_out), close(devnull);
    test_read_file(log, err, n);
    return rc;
}

static void fuzz_resume(tally *t, nn_rng *r) {
    shac_config c;
    char err[4096], seed_dir[400], dir[400], from[700], to[700];
    CHECK(shac_preset(&c, "hopper", "quick", err, sizeof err) == 0, "%s", err);
    c.envs = 2, c.horizon = 4, c.epochs = 2, c.eval_episodes = 1, c.eval_every = 100, c.save_every = 1;
    c.actor_units = "8", c.critic_units = "8", c.critic_minibatches = 2;
    scratch(seed_dir, sizeof seed_dir, "resume_seed");
    CHECK(nn_mkdirs(seed_dir) == 0, "mkdir");
    c.stop_after = 1;
    CHECK(shac_train(&c, seed_dir, 0, 1) == 0, "the seed run failed");
    c.stop_after = 0;
    snprintf(from, sizeof from, "%s/ckpt.safetensors", seed_dir);
    // the state's layout: progress (env_steps, wall, bad_updates, best_eval, recent n and i, 20
    // returns), the noise stream (counter, pos, buf x4, has_spare, spare), then the environments
    // (episodes, blowups, then per env: qpos 6, qvel 6, warm start 6, previous action 3, steps,
    // return, stream)
    enum { INT, REAL, BEST };
    int kinds[64];
    for (int i = 0; i < 64; i++) kinds[i] = REAL;
    int ints[] = {0, 2, 4, 5, 26, 27, 28, 29, 30, 31, 32, 34, 35, 57};
    double max[] = {4.6e18, 2147483647, 20, 19, 9007199254740992.0, 4, 4294967295.0, 4294967295.0, 4294967295.0,
                    4294967295.0, 1, 4.6e18, 4.6e18, 1000};  // 1000: the Hopper's episode length
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) kinds[ints[i]] = INT;
    kinds[3] = BEST;
    const char *garbage[] = {"nan", "inf", "-inf", "abc", "", "0x", "1e400", "-nan"};
    const char *out_of_range[] = {"-1", "1000", "1e300", "0x1.8p+0", "-64", "4294967296", "100000"};
    for (int i = 0; i < 110; i++) {
        snprintf(dir, sizeof dir, "%s/fuzz_resume_%d", test_tmpdir(), i);
        CHECK(nn_mkdirs(dir) == 0, "mkdir");
        const char *files[] = {"log.csv", "timing.csv"};
        for (int j = 0; j < 2; j++) {
            char a[700], b[700];
            snprintf(a, sizeof a, "%s/%s", seed_dir, files[j]);
            snprintf(b, sizeof b, "%s/%s", dir, files[j]);
            files_copy(a, b);
        }
        snprintf(to, sizeof to, "%s/ckpt.safetensors", dir);
        int tok = (int)(nn_rng_u32(r) % 58);
        const char *value, *why = NULL;
        char num[64];
        if (i < 40) value = garbage[i % 8];
        else if (i < 70) {
            value = out_of_range[i % 7];
            tok = ints[i % 14];
            double v = strtod(value, NULL);
            if (v >= 0 && v <= max[i % 14] && v == floor(v)) why = "a count within its range";
        } else if (i < 90) {
            // a finite number where any finite number is a possible value
            snprintf(num, sizeof num, "%.17g", (double)(nn_rng_uniform(r) - 0.5f) * 4);
            value = num;
            while (kinds[tok] != REAL || tok == 1) tok = (int)(nn_rng_u32(r) % 58);
            why = "any finite number is a possible joint state, return or Gaussian spare";
        } else {
            // the state cut short, or the epoch metadata a lie
            value = NULL;
        }
        if (value && !(kinds[tok] == BEST && !strcmp(value, "-inf"))) files_set_state_token(from, to, tok, value);
        else if (value) {
            files_set_state_token(from, to, tok, value);
            why = "-inf is the best evaluation before the first";
        } else if (i < 100) {
            // keep the first 3 + i - 90 tokens
            st_file f;
            CHECK(st_read(from, &f, err, sizeof err) == 0, "%s", err);
            char *s = strdup(st_meta(&f, "state")), *p = s;
            for (int j = 0; j < 3 + 6 * (i - 90) && p; j++) p = strchr(p + 1, ' ');
            if (p) *p = 0;
            st_free(&f);
            files_set_meta(from, to, "state", s);
            free(s);
        } else {
            const char *epochs[] = {"abc", "-1", "99999999999999999999", "1.5", "", "0x10", "2147483648", "1e3", "nan",
                                    "2"};
            files_set_meta(from, to, "epoch", epochs[i - 100]);
            if (i == 109) why = "epoch 2 is a possible epoch: the run goes on from there";
        }
        int rc = resume(&c, dir, err, sizeof err);
        judge(t, "resume", i, to, rc, rc ? err : NULL, why);
    }
}

TEST(readers_survive_500_mutations) {
    nn_rng r;
    nn_rng_init(&r, 18, 0);
    tally t = {0};
    char err[1024], wm_seed[400], ds_seed[400];
    // seeds: a SHAC checkpoint (from the resume fuzz's run), a world model, an episode
    fuzz_resume(&t, &r);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/fuzz_resume_seed/ckpt.safetensors", test_tmpdir());
    fuzz_safetensors(&t, "policy", ckpt, load_policy, policy_reads, &r);
    scratch(wm_seed, sizeof wm_seed, "wm_seed.safetensors");
    files_save_wm(wm_seed, 8, 1, 3);  // with the two-hot reward and the termination head
    fuzz_safetensors(&t, "world_model", wm_seed, load_model, model_reads, &r);
    scratch(ds_seed, sizeof ds_seed, "ds_seed");
    int next;
    CHECK(ds_open(ds_seed, "hopper", 11, 3, &next, err, sizeof err) == 0, "%s", err);
    ds_episode ep;
    ds_episode_alloc(&ep, 6, 11, 3);
    for (int i = 0; i < 7 * 11; i++) ep.obs[i] = 0.1f * (float)(i % 13) - 0.5f;
    for (int i = 0; i < 6 * 3; i++) ep.act[i] = 0.05f * (float)i - 0.4f;
    for (int i = 0; i < 6; i++) ep.rew[i] = 1.0f + 0.1f * (float)i;
    ep.term[5] = 1;
    CHECK(ds_write(ds_seed, 0, &ep, err, sizeof err) == 0, "%s", err);
    ds_episode_free(&ep);
    fuzz_npz(&t, ds_seed, &r);
    printf("      fuzz: %d variants, %d rejected naming the file, %d accepted for a stated reason\n", t.variants,
           t.rejected, t.accepted);
    CHECK(t.variants >= 500, "only %d variants", t.variants);
}

const test_case fuzz_tests[] = {
    {"readers_survive_500_mutations", readers_survive_500_mutations},
    {0},
};

#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../nn/common.h"
#include "npy.h"

#define DS_FORMAT "pwm-episodes-1"
#define DS_MAX_DIM 65536  // the largest obs_dim or act_dim dataset.txt may give
#define DS_MAX_VALUE 1e9f // larger observations, actions or rewards are corrupt data, not a task's

void ds_episode_alloc(ds_episode *ep, int T, int obs_dim, int act_dim) {
    *ep = (ds_episode){.T = T, .obs_dim = obs_dim, .act_dim = act_dim};
    ep->obs = nn_malloc(sizeof(float) * (size_t)(T + 1) * obs_dim);
    ep->act = nn_malloc(sizeof(float) * (size_t)T * act_dim);
    ep->rew = nn_malloc(sizeof(float) * (size_t)T);
    ep->term = nn_malloc((size_t)T);
    ep->trunc = nn_malloc((size_t)T);
}

void ds_episode_free(ds_episode *ep) {
    nn_free(ep->obs), nn_free(ep->act), nn_free(ep->rew), nn_free(ep->term), nn_free(ep->trunc);
    memset(ep, 0, sizeof *ep);
}

// a size from dataset.txt: the whole value a decimal in 1..DS_MAX_DIM, else -1
static int parse_dim(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return end != s && !*end && !errno && v >= 1 && v <= DS_MAX_DIM ? (int)v : -1;
}

// read dataset.txt: 0 and the fields, 1 if absent, -1 if malformed
static int read_meta(const char *dir, char *env, size_t envlen, int *obs_dim, int *act_dim) {
    char path[1100], line[256], key[64], val[128];
    snprintf(path, sizeof path, "%s/dataset.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    int got = 0, format = 0;
    *obs_dim = *act_dim = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, " %63[a-z_] = %127s", key, val) == 2) {
            if (!strcmp(key, "env")) snprintf(env, envlen, "%.63s", val), got |= 1;
            if (!strcmp(key, "obs_dim")) *obs_dim = parse_dim(val), got |= 2;
            if (!strcmp(key, "act_dim")) *act_dim = parse_dim(val), got |= 4;
            if (!strcmp(key, "format")) format = !strcmp(val, DS_FORMAT);
        }
    fclose(f);
    return got == 7 && format && *obs_dim > 0 && *act_dim > 0 ? 0 : -1;
}

// episode-NNNNNN.npz files of dir, sorted; returns the count (paths allocated) or -1
static int list_episodes(const char *dir, char ***paths) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 64;
    char **p = nn_malloc(sizeof(char *) * cap);
    for (struct dirent *de; (de = readdir(d));) {
        int idx;
        char tail[8];
        if (sscanf(de->d_name, "episode-%d.%7s", &idx, tail) != 2 || strcmp(tail, "npz")) continue;
        if (n == cap) {
            char **q = nn_malloc(sizeof(char *) * cap * 2);
            memcpy(q, p, sizeof(char *) * cap);
            nn_free(p);
            p = q, cap *= 2;
        }
        p[n] = nn_malloc(strlen(dir) + strlen(de->d_name) + 2);
        sprintf(p[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    // zero-padded indices sort as strings
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(p[j - 1], p[j]) > 0; j--) {
            char *t = p[j];
            p[j] = p[j - 1], p[j - 1] = t;
        }
    *paths = p;
    return n;
}

static void free_paths(char **p, int n) {
    for (int i = 0; i < n; i++) nn_free(p[i]);
    nn_free(p);
}

int ds_open(const char *dir, const char *env, int obs_dim, int act_dim, int *next, char *err, size_t errlen) {
    if (mkdir(dir, 0755) && errno != EEXIST) return nn_err(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
    char denv[64] = "";
    int o = 0, a = 0, m = read_meta(dir, denv, sizeof denv, &o, &a);
    if (m < 0) return nn_err(err, errlen, "'%s/dataset.txt' is malformed; it is not a dataset of this program", dir);
    if (m == 0 && (strcmp(denv, env) || o != obs_dim || a != act_dim))
        return nn_err(err, errlen, "'%s' holds a dataset of task '%s' (obs %d, act %d); it cannot take episodes of '%s' "
                      "(obs %d, act %d): use another directory", dir, denv, o, a, env, obs_dim, act_dim);
    if (m == 1) {
        char path[1100];
        snprintf(path, sizeof path, "%s/dataset.txt", dir);
        FILE *f = fopen(path, "w");
        if (!f) return nn_err(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        fprintf(f, "format = %s\nenv = %s\nobs_dim = %d\nact_dim = %d\n", DS_FORMAT, env, obs_dim, act_dim);
        fclose(f);
    }
    char **paths;
    int n = list_episodes(dir, &paths);
    *next = 0;
    for (int i = 0; i < n; i++) {
        int idx = 0;
        sscanf(strrchr(paths[i], '/') + 1, "episode-%d", &idx);
        *next = idx + 1 > *next ? idx + 1 : *next;
    }
    if (n >= 0) free_paths(paths, n);
    return 0;
}

int ds_write(const char *dir, int index, const ds_episode *ep, char *err, size_t errlen) {
    nn_check(ep->T >= 1, "an episode needs at least one step");
    for (int t = 0; t + 1 < ep->T; t++)
        nn_check(!ep->term[t] && !ep->trunc[t], "episode flags set before its last step");
    char path[1100];
    snprintf(path, sizeof path, "%s/episode-%06d.npz", dir, index);
    npy_array a[5] = {
        {"obs", NPY_F4, 2, {ep->T + 1, ep->obs_dim}, ep->obs},
        {"action", NPY_F4, 2, {ep->T, ep->act_dim}, ep->act},
        {"reward", NPY_F4, 1, {ep->T}, ep->rew},
        {"terminated", NPY_U1, 1, {ep->T}, ep->term},
        {"truncated", NPY_U1, 1, {ep->T}, ep->trunc},
    };
    return npz_write(path, a, 5, err, errlen);
}

// every value of a member finite and within ±DS_MAX_VALUE; else the first bad one (row, column) in why
static void check_values(const void *data, size_t n, int cols, const char *member, char *why, size_t wl) {
    const unsigned char *p = data;  // inside the file's buffer: not aligned for float
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        if (!(fabsf(v) <= DS_MAX_VALUE)) {
            nn_err(why, wl, "%s[%zu, %zu] is %g: %s; the episode is corrupt (collect it again or remove the file)",
                   member, i / (size_t)cols, i % (size_t)cols, v, isfinite(v) ? "beyond +-1e9" : "not finite");
            return;
        }
    }
}

// one episode from an .npz, checked against the dataset's sizes
static int load_episode(const char *path, int O, int A, ds_episode *ep, char *err, size_t errlen) {
    npz_file f;
    if (npz_read(path, &f, err, errlen)) return -1;
    const npy_array *obs = npz_find(&f, "obs"), *act = npz_find(&f, "action"), *rew = npz_find(&f, "reward");
    const npy_array *term = npz_find(&f, "terminated"), *trunc = npz_find(&f, "truncated");
    char why[200] = "";
    if (!obs || !act || !rew || !term || !trunc) {
        nn_err(why, sizeof why, "missing one of obs, action, reward, terminated, truncated");
    } else {
        long T = act->ndim == 2 ? (long)act->shape[0] : -1;
        if (obs->dtype != NPY_F4 || act->dtype != NPY_F4 || rew->dtype != NPY_F4 || term->dtype != NPY_U1 ||
            trunc->dtype != NPY_U1)
            nn_err(why, sizeof why, "wrong dtypes (obs/action/reward float32, flags uint8)");
        else if (T < 1 || act->shape[1] != A || obs->ndim != 2 || obs->shape[0] != T + 1 || obs->shape[1] != O ||
                 rew->ndim != 1 || rew->shape[0] != T || term->ndim != 1 || term->shape[0] != T || trunc->ndim != 1 ||
                 trunc->shape[0] != T)
            nn_err(why, sizeof why, "shapes do not match (want obs (T+1, %d), action (T, %d), reward/flags (T,))", O, A);
        else {
            const uint8_t *tm = term->data, *tr = trunc->data;
            for (long t = 0; t + 1 < T; t++)
                if (tm[t] || tr[t]) nn_err(why, sizeof why, "an episode-end flag is set before the last step (%ld)", t);
            if (!why[0]) check_values(obs->data, (size_t)(T + 1) * O, O, "obs", why, sizeof why);
            if (!why[0]) check_values(act->data, (size_t)T * A, A, "action", why, sizeof why);
            if (!why[0]) check_values(rew->data, (size_t)T, 1, "reward", why, sizeof why);
            if (!why[0]) {
                ds_episode_alloc(ep, (int)T, O, A);
                memcpy(ep->obs, obs->data, sizeof(float) * (size_t)(T + 1) * O);
                memcpy(ep->act, act->data, sizeof(float) * (size_t)T * A);
                memcpy(ep->rew, rew->data, sizeof(float) * (size_t)T);
                memcpy(ep->term, tm, (size_t)T);
                memcpy(ep->trunc, tr, (size_t)T);
            }
        }
    }
    npz_free(&f);
    if (why[0]) return nn_err(err, errlen, "dataset file '%s': %s", path, why);
    return 0;
}

int ds_load(const char *dir, ds_dataset *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    int m = read_meta(dir, d->env, sizeof d->env, &d->obs_dim, &d->act_dim);
    if (m) return nn_err(err, errlen, "'%s' is not a dataset: %s", dir, m > 0 ? "no dataset.txt (collect one with pwm collect)" :
                         "dataset.txt is malformed");
    char **paths;
    int n = list_episodes(dir, &paths);
    if (n <= 0) {
        if (n == 0) free_paths(paths, n);
        return nn_err(err, errlen, "dataset '%s' holds no episode files", dir);
    }
    d->eps = nn_malloc(sizeof(ds_episode) * n);
    for (int i = 0; i < n; i++) {
        if (load_episode(paths[i], d->obs_dim, d->act_dim, &d->eps[i], err, errlen)) {
            d->n = i;
            ds_free(d);
            free_paths(paths, n);
            return -1;
        }
        d->steps += d->eps[i].T;
    }
    d->n = n;
    free_paths(paths, n);
    return 0;
}

void ds_free(ds_dataset *d) {
    for (int i = 0; i < d->n; i++) ds_episode_free(&d->eps[i]);
    nn_free(d->eps);
    memset(d, 0, sizeof *d);
}

int ds_recorder_open(ds_recorder *r, const char *dir, const char *env, int n, int obs_dim, int act_dim, int cap,
                     const double *obs, char *err, size_t errlen) {
    *r = (ds_recorder){.dir = dir, .n = n, .obs_dim = obs_dim, .act_dim = act_dim, .cap = cap};
    if (ds_open(dir, env, obs_dim, act_dim, &r->next, err, errlen)) return -1;
    r->eps = nn_malloc(sizeof(ds_episode) * n);
    for (int i = 0; i < n; i++) {
        ds_episode_alloc(&r->eps[i], cap, obs_dim, act_dim);
        r->eps[i].T = 0;
        for (int k = 0; k < obs_dim; k++) r->eps[i].obs[k] = (float)obs[(size_t)i * obs_dim + k];
    }
    return 0;
}

int ds_recorder_step(ds_recorder *r, const double *act, const double *rew, const unsigned char *term,
                     const unsigned char *trunc, const double *obs_final, const double *obs, char *err, size_t errlen) {
    int O = r->obs_dim, A = r->act_dim;
    for (int i = 0; i < r->n; i++) {
        ds_episode *x = &r->eps[i];
        int T = x->T;
        for (int k = 0; k < A; k++) x->act[(size_t)T * A + k] = (float)act[(size_t)i * A + k];
        for (int k = 0; k < O; k++) x->obs[(size_t)(T + 1) * O + k] = (float)obs_final[(size_t)i * O + k];
        x->rew[T] = (float)rew[i];
        x->term[T] = term[i];
        // an episode that reaches the buffer's length ends here (cut, as at the end of a collection)
        x->trunc[T] = trunc[i] || (!term[i] && T + 1 == r->cap);
        x->T = T + 1;
        r->steps++;
        if (x->term[T] || x->trunc[T]) {
            if (ds_write(r->dir, r->next++, x, err, errlen)) return -1;
            r->written++;
            if (r->on_episode) r->on_episode(r->ctx, x);
            x->T = 0;
            for (int k = 0; k < O; k++) x->obs[k] = (float)obs[(size_t)i * O + k];
        }
    }
    return 0;
}

int ds_recorder_close(ds_recorder *r, char *err, size_t errlen) {
    int rc = 0;
    for (int i = 0; i < r->n; i++) {
        if (!rc && r->eps[i].T > 0) {
            r->eps[i].trunc[r->eps[i].T - 1] = 1;
            rc = ds_write(r->dir, r->next++, &r->eps[i], err, errlen);
            r->written += rc == 0;
        }
        ds_episode_free(&r->eps[i]);
    }
    nn_free(r->eps);
    r->eps = NULL;
    return rc;
}

int ds_note(const char *dir, const char *key, const char *text, char *err, size_t errlen) {
    char path[1100], denv[64];
    int o, a;
    snprintf(path, sizeof path, "%s/dataset.txt", dir);
    if (read_meta(dir, denv, sizeof denv, &o, &a)) return nn_err(err, errlen, "'%s' is not a dataset of this program", dir);
    FILE *f = fopen(path, "a");
    if (!f) return nn_err(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "%s = %s\n", key, text);
    return fclose(f) ? nn_err(err, errlen, "cannot write '%s': %s", path, strerror(errno)) : 0;
}

#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

// "<prefix><part><name>" into buf
static const char *join(char *buf, size_t n, const char *prefix, const char *part, const char *name) {
    snprintf(buf, n, "%s%s%s", prefix, part, name);
    return buf;
}

void nn_ckpt_write_params(st_writer *w, const char *prefix, const nn_params *p, const nn_adam *opt) {
    char name[256];
    for (int pass = 0; pass < (opt ? 3 : 1); pass++) {
        const char *part = pass == 0 ? "" : pass == 1 ? "adam.m." : "adam.v.";
        const float *base = pass == 0 ? p->values : pass == 1 ? p->m : p->v;
        for (int i = 0; i < p->n; i++) {
            const nn_param *e = &p->list[i];
            int64_t shape[2] = {e->t.n, e->t.d};
            st_writer_add(w, join(name, sizeof name, prefix, part, e->name), e->ndim, e->ndim == 1 ? shape + 1 : shape,
                          base + e->offset);
        }
    }
    if (opt) {
        char step[32];
        snprintf(step, sizeof step, "%ld", opt->step);
        st_writer_meta(w, join(name, sizeof name, prefix, "adam.step", ""), step);
    }
}

// the tensor name must have shape [n, d] (ndim 2) or [d] (ndim 1)
static int check_tensor(const st_file *f, const char *name, int ndim, int n, int d, char *err, size_t errlen) {
    const st_entry *e = st_find(f, name);
    if (!e)
        return nn_err(err, errlen, "checkpoint has no tensor '%s'; it was saved from a different model or "
                      "configuration (check --size, --activation and the task)", name);
    int ok = e->ndim == ndim && (ndim == 1 ? e->shape[0] == d : e->shape[0] == n && e->shape[1] == d);
    if (!ok) {
        char got[128] = "";
        for (int i = 0, off = 0; i < e->ndim && off < (int)sizeof got - 24; i++)
            off += snprintf(got + off, sizeof got - (size_t)off, "%s%" PRId64, i ? ", " : "", e->shape[i]);
        char want[64];
        if (ndim == 1) snprintf(want, sizeof want, "%d", d);
        else snprintf(want, sizeof want, "%d, %d", n, d);
        return nn_err(err, errlen, "checkpoint tensor '%s' has shape [%s], the model expects [%s]; it was "
                      "saved from a model of another size", name, got, want);
    }
    // a weight, moment or statistic that is NaN or infinite would poison everything computed from it
    const float *v = st_data(f, e);
    for (size_t i = 0; i < e->nbytes / sizeof(float); i++)
        if (!isfinite(v[i]))
            return nn_err(err, errlen, "checkpoint tensor '%s' holds a non-finite value (%g at index %zu); the file "
                          "is corrupt or was saved from a diverged run: use an earlier checkpoint", name, v[i], i);
    return 0;
}

int nn_ckpt_check_params(const st_file *f, const char *prefix, const nn_params *p, const nn_adam *opt,
                         char *err, size_t errlen) {
    char name[256];
    for (int pass = 0; pass < (opt ? 3 : 1); pass++) {
        const char *part = pass == 0 ? "" : pass == 1 ? "adam.m." : "adam.v.";
        for (int i = 0; i < p->n; i++)
            if (check_tensor(f, join(name, sizeof name, prefix, part, p->list[i].name), p->list[i].ndim,
                             p->list[i].t.n, p->list[i].t.d, err, errlen))
                return -1;
    }
    // nothing under the prefix that the model lacks (Adam moments of its tensors are fine)
    size_t plen = strlen(prefix);
    for (int i = 0; i < f->n; i++) {
        const char *nm = f->entries[i].name, *rest = nm + plen;
        if (strncmp(nm, prefix, plen)) continue;
        if (!strncmp(rest, "adam.m.", 7) || !strncmp(rest, "adam.v.", 7)) rest += 7;
        if (!nn_params_find(p, rest))
            return nn_err(err, errlen, "checkpoint has a tensor '%s' that the model does not have; it was saved "
                          "from a different model or configuration", nm);
    }
    if (opt) {
        const char *step = st_meta(f, join(name, sizeof name, prefix, "adam.step", ""));
        char *end = NULL;
        errno = 0;
        if (!step || strtol(step, &end, 10) < 0 || *end || end == step || errno)
            return nn_err(err, errlen, "checkpoint has no valid optimizer step '%s' in its metadata; it holds "
                          "weights only and cannot resume training", name);
    }
    return 0;
}

void nn_ckpt_read_params(const st_file *f, const char *prefix, nn_params *p, nn_adam *opt) {
    char name[256];
    for (int pass = 0; pass < (opt ? 3 : 1); pass++) {
        const char *part = pass == 0 ? "" : pass == 1 ? "adam.m." : "adam.v.";
        float *base = pass == 0 ? p->values : pass == 1 ? p->m : p->v;
        for (int i = 0; i < p->n; i++) {
            const nn_param *e = &p->list[i];
            const st_entry *s = st_find(f, join(name, sizeof name, prefix, part, e->name));
            memcpy(base + e->offset, st_data(f, s), s->nbytes);
        }
    }
    if (opt) opt->step = strtol(st_meta(f, join(name, sizeof name, prefix, "adam.step", "")), NULL, 10);
}

void nn_ckpt_write_rms(st_writer *w, const char *prefix, const nn_rms *r) {
    char name[256], count[64];
    int64_t shape[1] = {r->dim};
    st_writer_add(w, join(name, sizeof name, prefix, "mean", ""), 1, shape, r->mean);
    st_writer_add(w, join(name, sizeof name, prefix, "var", ""), 1, shape, r->var);
    snprintf(count, sizeof count, "%.17g", r->count);
    st_writer_meta(w, join(name, sizeof name, prefix, "count", ""), count);
}

int nn_ckpt_check_rms(const st_file *f, const char *prefix, const nn_rms *r, char *err, size_t errlen) {
    char name[256];
    if (check_tensor(f, join(name, sizeof name, prefix, "mean", ""), 1, 1, r->dim, err, errlen) ||
        check_tensor(f, join(name, sizeof name, prefix, "var", ""), 1, 1, r->dim, err, errlen))
        return -1;
    const char *count = st_meta(f, join(name, sizeof name, prefix, "count", ""));
    char *end = NULL;
    double n = count ? strtod(count, &end) : 0;
    if (!count || !(n > 0.0 && isfinite(n)) || *end)
        return nn_err(err, errlen, "checkpoint has no valid normaliser count '%s' in its metadata", name);
    return 0;
}

void nn_ckpt_read_rms(const st_file *f, const char *prefix, nn_rms *r) {
    char name[256];
    memcpy(r->mean, st_data(f, st_find(f, join(name, sizeof name, prefix, "mean", ""))), sizeof(float) * r->dim);
    memcpy(r->var, st_data(f, st_find(f, join(name, sizeof name, prefix, "var", ""))), sizeof(float) * r->dim);
    r->count = strtod(st_meta(f, join(name, sizeof name, prefix, "count", "")), NULL);
}

int nn_params_save(const char *path, const nn_params *p, const nn_adam *opt, const char *const *meta_kv, char *err,
                   size_t errlen) {
    st_writer *w = st_writer_new();
    nn_ckpt_write_params(w, "", p, opt);
    for (int i = 0; meta_kv && meta_kv[i] && meta_kv[i + 1]; i += 2) st_writer_meta(w, meta_kv[i], meta_kv[i + 1]);
    int rc = st_writer_commit(w, path, err, errlen);
    st_writer_free(w);
    return rc;
}

int nn_params_load(const char *path, nn_params *p, nn_adam *opt, char *err, size_t errlen) {
    st_file f;
    if (st_read(path, &f, err, errlen)) return -1;
    char msg[512];
    if (nn_ckpt_check_params(&f, "", p, opt, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s", path, msg);
        st_free(&f);
        return -1;
    }
    nn_ckpt_read_params(&f, "", p, opt);
    st_free(&f);
    return 0;
}

#include "wm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"

static const char *act_names[] = {"simnorm", "mish", "relu"};

const char *wm_activation_name(wm_activation a) { return act_names[a]; }

int wm_activation_parse(const char *s) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, act_names[i])) return i;
    return -1;
}

int wm_size(wm_config *c, const char *size) {
    if (!strcmp(size, "paper")) c->latent = 512, c->enc_dim = 256, c->enc_layers = 1, c->mlp_dim = 512;
    else if (!strcmp(size, "small")) c->latent = 128, c->enc_dim = 128, c->enc_layers = 1, c->mlp_dim = 128;
    else return -1;
    return 0;
}

// the three networks' specs for the model's variant
static void specs(const wm_config *c, nn_mlp_spec *enc, nn_mlp_spec *dyn, nn_mlp_spec *rew) {
    int relu = c->activation == WM_RELU;
    nn_out latent_out = relu ? NN_OUT_LINEAR : c->activation == WM_MISH ? NN_OUT_NORM_ACT : NN_OUT_SIMNORM;
    nn_mlp_spec base = {.act = relu ? NN_ACT_RELU : NN_ACT_MISH, .block = NN_BLOCK_NORM_ACT, .layernorm = !relu,
                        .simnorm_group = 8};
    int e = c->num_tasks ? c->task_dim : 0;
    *enc = base, *dyn = base, *rew = base;
    enc->in = c->obs_dim + e, enc->out = c->latent, enc->n_hidden = c->enc_layers, enc->out_kind = latent_out;
    for (int i = 0; i < c->enc_layers; i++) enc->hidden[i] = c->enc_dim;
    dyn->in = c->latent + e + c->act_dim, dyn->out = c->latent, dyn->n_hidden = 2, dyn->out_kind = latent_out;
    dyn->hidden[0] = dyn->hidden[1] = c->mlp_dim;
    *rew = *dyn;
    rew->out = c->reward_bins ? c->reward_bins : 1, rew->out_kind = NN_OUT_LINEAR;
}

// the model's tensors, declared but not allocated
static void declare(world_model *w, const wm_config *c) {
    nn_check(c->latent % 8 == 0, "world model: latent %d must be a multiple of 8", c->latent);
    memset(w, 0, sizeof *w);
    w->c = *c;
    nn_mlp_spec es, ds, rs;
    specs(c, &es, &ds, &rs);
    nn_params_init(&w->p, 0);
    nn_mlp_declare(&w->enc, &w->p, "encoder", &es);
    nn_mlp_declare(&w->dyn, &w->p, "dynamics", &ds);
    nn_mlp_declare(&w->rew, &w->p, "reward", &rs);
    if (c->termination) {
        rs.out = 1;
        nn_mlp_declare(&w->term, &w->p, "termination", &rs);
    }
    if (c->num_tasks) w->task_emb = nn_params_add(&w->p, "task_embedding", c->num_tasks, c->task_dim);
}

void wm_init(world_model *w, const wm_config *c, unsigned long seed) {
    declare(w, c);
    nn_params_alloc(&w->p);
    nn_rng r;
    nn_rng_init(&r, seed, 1u << 22);
    nn_mlp_init(&w->enc, NN_INIT_TRUNC_NORMAL, 0, &r);
    nn_mlp_init(&w->dyn, NN_INIT_TRUNC_NORMAL, 0, &r);
    nn_mlp_init(&w->rew, NN_INIT_TRUNC_NORMAL, 1, &r);
    if (c->termination) nn_mlp_init(&w->term, NN_INIT_TRUNC_NORMAL, 1, &r);
    // task embeddings U(−0.02, 0.02), as TD-MPC2
    for (int i = 0; w->task_emb && i < c->num_tasks * c->task_dim; i++)
        w->task_emb->x[i] = 0.02f * (2.0f * nn_rng_uniform(&r) - 1.0f);
}

void wm_free(world_model *w) { nn_params_free(&w->p); }

typedef struct {
    const int *task;
    int d;
} embed_ctx;

static void embed_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    embed_ctx *c = vctx;
    float *ge = nn_grad(g, in[0]);
    for (int i = 0; i < out->n; i++)
        for (int k = 0; k < c->d; k++) ge[(size_t)c->task[i] * c->d + k] += out->g[(size_t)i * c->d + k];
}

nn_tensor *wm_task_embed(nn_graph *g, world_model *w, const int *task, int n) {
    if (!w->c.num_tasks) return NULL;
    int d = w->c.task_dim;
    embed_ctx *c = nn_graph_alloc(g, sizeof *c);
    int *ids = nn_graph_alloc(g, sizeof(int) * n);
    for (int i = 0; i < n; i++) {
        nn_check(task[i] >= 0 && task[i] < w->c.num_tasks, "task id %d outside 0..%d", task[i], w->c.num_tasks - 1);
        ids[i] = task[i];
        // max-norm 1, in place and without gradient (PyTorch's Embedding(max_norm=1))
        float *row = w->task_emb->x + (size_t)task[i] * d, norm = 0;
        for (int k = 0; k < d; k++) norm += row[k] * row[k];
        norm = sqrtf(norm);
        if (norm > 1.0f)
            for (int k = 0; k < d; k++) row[k] *= 1.0f / (norm + 1e-7f);
    }
    *c = (embed_ctx){ids, d};
    nn_tensor *y = nn_custom(g, n, d, &w->task_emb, 1, embed_bwd, c);
    for (int i = 0; i < n; i++) memcpy(y->x + (size_t)i * d, w->task_emb->x + (size_t)ids[i] * d, sizeof(float) * d);
    return y;
}

// x ‖ e ‖ y (the parts that are non-NULL)
static nn_tensor *cat3(nn_graph *g, nn_tensor *x, nn_tensor *e, nn_tensor *y) {
    nn_tensor *parts[3];
    int k = 0;
    parts[k++] = x;
    if (e) parts[k++] = e;
    if (y) parts[k++] = y;
    return k == 1 ? x : nn_concat(g, parts, k);
}

nn_tensor *wm_encode(nn_graph *g, const world_model *w, nn_tensor *obs, nn_tensor *e) {
    return nn_mlp_forward(g, &w->enc, cat3(g, obs, e, NULL));
}

nn_tensor *wm_dynamics(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e) {
    return nn_mlp_forward(g, &w->dyn, cat3(g, z, e, a));
}

// the reward head's raw output: a scalar, or the bins' logits
static nn_tensor *reward_head(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e) {
    return nn_mlp_forward(g, &w->rew, cat3(g, z, e, a));
}

static nn_bins reward_bins(const world_model *w) { return (nn_bins){w->c.reward_bins, -10.0f, 10.0f}; }

nn_tensor *wm_reward(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e) {
    nn_tensor *r = reward_head(g, w, z, a, e);
    return w->c.reward_bins ? nn_two_hot_inv(g, r, reward_bins(w)) : r;
}

// [0, logit] per row: its softmax is (1 − p, p) with p = sigmoid(logit)
static nn_tensor *two_class(nn_graph *g, nn_tensor *logit) {
    nn_tensor *zero = nn_tensor_new(g, logit->n, 1, 0);
    memset(zero->x, 0, sizeof(float) * logit->n);
    nn_tensor *xs[2] = {zero, logit};
    return nn_concat(g, xs, 2);
}

nn_tensor *wm_termination(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e) {
    nn_check(w->c.termination, "world model: no termination head");
    return nn_split(g, nn_softmax(g, two_class(g, nn_mlp_forward(g, &w->term, cat3(g, z, e, a)))), 1, 1);
}

nn_tensor *wm_loss(nn_graph *g, world_model *w, const float *obs, const float *act, const float *rew, const float *term,
                   const int *task, int B, int H, float rho, const float *given_targets, double *dyn_part,
                   double *rew_part) {
    int O = w->c.obs_dim, A = w->c.act_dim;
    nn_tensor *e = wm_task_embed(g, w, task, B);
    // targets: the next H observations through the encoder in one batch, without gradient
    nn_tensor *targets;
    if (given_targets) {
        targets = nn_tensor_from(g, given_targets, H * B, w->c.latent, 0);
    } else {
        nn_graph_set_no_grad(g, 1);
        nn_tensor *eH = NULL;
        if (task) {
            // the targets' embeddings: each sub-trajectory's task at every step
            int *ids = nn_graph_alloc(g, sizeof(int) * H * B);
            for (int t = 0; t < H; t++) memcpy(ids + (size_t)t * B, task, sizeof(int) * B);
            eH = wm_task_embed(g, w, ids, H * B);
        }
        targets = wm_encode(g, w, nn_tensor_from(g, obs + (size_t)B * O, H * B, O, 0), eH);
        nn_graph_set_no_grad(g, 0);
    }
    nn_tensor *z = wm_encode(g, w, nn_tensor_from(g, obs, B, O, 0), e);
    nn_tensor *dyn_loss = NULL, *rew_loss = NULL;
    float discount = 1.0f;
    for (int t = 0; t < H; t++) {
        nn_tensor *a = nn_tensor_from(g, act + (size_t)t * B * A, B, A, 0);
        nn_tensor *head = reward_head(g, w, z, a, e), *r = nn_tensor_from(g, rew + (size_t)t * B, B, 1, 0);
        nn_tensor *logit = w->c.termination && term ? nn_mlp_forward(g, &w->term, cat3(g, z, e, a)) : NULL;
        z = wm_dynamics(g, w, z, a, e);
        nn_tensor *dl = nn_scale(g, nn_mean(g, nn_mse(g, z, nn_rows(g, targets, t * B, B))), discount);
        nn_tensor *err = w->c.reward_bins ? nn_soft_ce(g, head, nn_two_hot(g, r, reward_bins(w))) : nn_mse(g, head, r);
        nn_tensor *rl = nn_scale(g, nn_mean(g, err), discount / (float)H);
        if (logit) {
            // binary cross-entropy of the termination head, as the soft cross-entropy of [0, logit]
            float *y = nn_graph_alloc(g, sizeof(float) * 2 * B);
            for (int b = 0; b < B; b++) y[2 * b] = 1.0f - term[(size_t)t * B + b], y[2 * b + 1] = term[(size_t)t * B + b];
            nn_tensor *ce = nn_soft_ce(g, two_class(g, logit), nn_tensor_from(g, y, B, 2, 0));
            rl = nn_add(g, rl, nn_scale(g, nn_mean(g, ce), discount / (float)H));
        }
        dyn_loss = dyn_loss ? nn_add(g, dyn_loss, dl) : dl;
        rew_loss = rew_loss ? nn_add(g, rew_loss, rl) : rl;
        discount *= rho;
    }
    if (dyn_part) *dyn_part = dyn_loss->x[0] / H;
    if (rew_part) *rew_part = rew_loss->x[0] / H;
    return nn_scale(g, nn_add(g, dyn_loss, rew_loss), 1.0f / (float)H);
}

int wm_task_id(const world_model *w, const char *name) {
    const char *p = w->tasks;
    size_t n = strlen(name);
    for (int id = 0; *p; id++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return id;
        if (!end) break;
        p = end + 1;
    }
    return -1;
}

#define WM_MAX_DIM (1 << 20)  // the largest size a checkpoint's metadata may give

// the config's integer fields in checkpoint metadata
static const char *const meta_keys[9] = {"obs_dim", "act_dim", "latent", "enc_dim", "enc_layers", "mlp_dim",
                                         "reward_bins", "num_tasks", "task_dim"};

void wm_write(st_writer *sw, const world_model *w, const nn_adam *opt, const nn_rms *rew_rms, long step) {
    nn_ckpt_write_params(sw, "wm/", &w->p, opt);
    if (rew_rms) {
        nn_ckpt_write_rms(sw, "rew_rms.", rew_rms);
        st_writer_meta(sw, "reward_norm", rew_rms->scale_only ? "scale" : "center");
    }
    char buf[64];
    const wm_config *c = &w->c;
    st_writer_meta(sw, "activation", wm_activation_name(c->activation));
    st_writer_meta(sw, "tasks", w->tasks);
    int vals[9] = {c->obs_dim, c->act_dim, c->latent, c->enc_dim, c->enc_layers, c->mlp_dim, c->reward_bins,
                   c->num_tasks, c->task_dim};
    for (int i = 0; i < 9; i++) {
        snprintf(buf, sizeof buf, "%d", vals[i]);
        st_writer_meta(sw, meta_keys[i], buf);
    }
    snprintf(buf, sizeof buf, "%ld", step);
    st_writer_meta(sw, "step", buf);
    st_writer_meta(sw, "termination", c->termination ? "1" : "0");
}

int wm_save(const world_model *w, const nn_adam *opt, const nn_rms *rew_rms, long step, const char *path, char *err,
            size_t errlen) {
    st_writer *sw = st_writer_new();
    st_writer_meta(sw, "format", "pwm-worldmodel-1");
    wm_write(sw, w, opt, rew_rms, step);
    st_writer_seal(sw);
    int rc = st_writer_commit(sw, path, err, errlen);
    st_writer_free(sw);
    return rc;
}

int wm_read(const st_file *f, world_model *w, nn_adam *opt, nn_rms *rew_rms, long *step, const char *path, char *err,
            size_t errlen) {
    // every size a whole decimal in 0..WM_MAX_DIM (so that sums of them cannot overflow), the
    // first six at least 1, the layers at most NN_MLP_MAX_HIDDEN, tasks with an embedding width
    const char *act = st_meta(f, "activation");
    int vals[9] = {0}, ok = act && wm_activation_parse(act) >= 0;
    for (int i = 0; ok && i < 9; i++) {
        const char *v = st_meta(f, meta_keys[i]);
        char *end;
        long x = v ? strtol(v, &end, 10) : -1;
        ok = v && end != v && !*end && x >= (i < 6 ? 1 : 0) && x <= WM_MAX_DIM;
        vals[i] = ok ? (int)x : 0;
        if (!ok)
            return nn_err(err, errlen, "%s: holds no world model of this program: its metadata '%s' is %s%s%s, not a "
                          "size in %d..%d", path, meta_keys[i], v ? "'" : "", v ? v : "missing", v ? "'" : "",
                          i < 6 ? 1 : 0, WM_MAX_DIM);
    }
    if (!ok || vals[2] % 8 || vals[4] > NN_MLP_MAX_HIDDEN || (vals[7] && !vals[8]))
        return nn_err(err, errlen, "%s: holds no world model of this program (its activation, latent %d (a multiple "
                      "of 8), encoder layers %d (at most %d) or task embedding is bad)", path, vals[2], vals[4],
                      NN_MLP_MAX_HIDDEN);
    const char *term = st_meta(f, "termination");  // absent in models saved before the head existed
    wm_config c = {vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], (wm_activation)wm_activation_parse(act),
                   vals[6], vals[7], vals[8], term && !strcmp(term, "1")};
    // the shapes against the file's tensors first: only sizes the file really holds get allocated
    world_model m;
    declare(&m, &c);
    char msg[512];
    if (nn_ckpt_check_params(f, "wm/", &m.p, opt, msg, sizeof msg) ||
        (rew_rms && nn_ckpt_check_rms(f, "rew_rms.", rew_rms, msg, sizeof msg))) {
        wm_free(&m);
        return nn_err(err, errlen, "%s: %s", path, msg);
    }
    nn_params_alloc(&m.p);
    nn_ckpt_read_params(f, "wm/", &m.p, opt);
    const char *tasks = st_meta(f, "tasks");
    snprintf(m.tasks, sizeof m.tasks, "%s", tasks ? tasks : "");
    if (rew_rms) {
        // models saved before the choice existed were trained on (r − mean)/std
        const char *rn = st_meta(f, "reward_norm");
        nn_ckpt_read_rms(f, "rew_rms.", rew_rms);
        rew_rms->scale_only = rn && !strcmp(rn, "scale");
    }
    const char *s = st_meta(f, "step");
    if (step) *step = s ? strtol(s, NULL, 10) : 0;
    *w = m;
    return 0;
}

int wm_load(world_model *w, nn_adam *opt, nn_rms *rew_rms, long *step, const char *path, char *err, size_t errlen) {
    st_file f;
    if (st_read(path, &f, err, errlen)) return -1;
    const char *fmt = st_meta(&f, "format");
    int rc = fmt && !strcmp(fmt, "pwm-worldmodel-1")
                 ? wm_read(&f, w, opt, rew_rms, step, path, err, errlen)
                 : nn_err(err, errlen, "%s: not a world-model checkpoint of this program (format %s)", path,
                          fmt ? fmt : "missing");
    st_free(&f);
    return rc;
}

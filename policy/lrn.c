// The learner SHAC and PWM share (lrn.h): its networks, its epoch, evaluation, training and the
// actor loss's gradient check; checkpoints in lrn_ckpt.c.
#include "lrn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"

nn_tensor *lrn_input_apply(nn_graph *g, const lrn_input *m, nn_tensor *obs) {
    return m->w ? wm_encode(g, m->w, obs, NULL) : nn_rms_apply(g, m->rms, obs);
}

void lrn_policy_forward(nn_graph *g, const lrn_input *in, const actor *act, const double *obs, int n,
                        const float *eps, double *u) {
    nn_graph_reset(g);
    nn_graph_set_no_grad(g, 1);
    nn_tensor *o = nn_tensor_new(g, n, in->obs_dim, 0);
    for (int i = 0; i < n * in->obs_dim; i++) o->x[i] = (float)obs[i];
    nn_tensor *a = actor_forward(g, act, lrn_input_apply(g, in, o), eps);
    for (int i = 0; i < n * act->act_dim; i++) u[i] = a->x[i];
    nn_graph_set_no_grad(g, 0);
}

void lrn_critic_spec(nn_mlp_spec *s, int in, const int *units, int n, nn_act act) {
    *s = (nn_mlp_spec){.in = in, .out = 1, .n_hidden = n, .act = act, .block = NN_BLOCK_ACT_NORM, .layernorm = 1,
                       .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < n; i++) s->hidden[i] = units[i];
}

int lrn_check_config(const lrn_config *c, char *err, size_t errlen) {
    int units[LRN_MAX_UNITS];
    if (lrn_parse_units(c->actor_units, units) < 1 || lrn_parse_units(c->critic_units, units) < 1)
        return nn_err(err, errlen, "bad --actor-units '%s' or --critic-units '%s': give widths like 128,64,32 (1..%d layers)",
                      c->actor_units, c->critic_units, LRN_MAX_UNITS);
    if (c->envs < 1 || c->horizon < 1 || c->epochs < 1 || c->critic_minibatches < 1 || c->critics < 1 ||
        c->critics > LRN_MAX_CRITICS || (c->envs * c->horizon) % c->critic_minibatches)
        return nn_err(err, errlen, "need envs, horizon, epochs >= 1, 1..%d critics and envs x horizon divisible by "
                      "critic-minibatches", LRN_MAX_CRITICS);
    if (!c->targets && c->target_alpha >= 1) return nn_err(err, errlen, "--target-alpha must be in [0, 1)");
    if (c->actor_average < 0) return nn_err(err, errlen, "--actor-average must be >= 0 epochs (0: no average)");
    return 0;
}

// the critics' (or targets') declarations in p: "critic", or "critic0".."critic{K-1}"
static void declare_critics(const lrn_config *c, nn_mlp *nets, nn_params *p, const nn_mlp_spec *cs) {
    for (int k = 0; k < c->critics; k++) {
        char name[32];
        snprintf(name, sizeof name, c->one_critic ? "critic" : "critic%d", k);
        nn_mlp_declare(&nets[k], p, name, cs);
    }
}

int lrn_init(lrn_learner *L, const lrn_config *c, const lrn_source *src, void *src_state, int O, int A, int D,
             lrn_input in, char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    L->c = *c, L->src = src, L->src_state = src_state, L->in = in;
    L->N = c->envs, L->H = c->horizon, L->O = O, L->A = A, L->D = D;
    L->pr.best_eval = -INFINITY;
    L->g = nn_graph_new(0);
    if (lrn_check_config(c, err, errlen)) return -1;
    int au[LRN_MAX_UNITS], cu[LRN_MAX_UNITS];
    int na = lrn_parse_units(c->actor_units, au), nc = lrn_parse_units(c->critic_units, cu);
    // networks: the actor with PyTorch's default init, the critics orthogonal (gain √2) with zero bias
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1u << 20);
    nn_params_init(&L->ap, 0);
    actor_declare(&L->act, &L->ap, "actor.", D, A, au, na, c->act);
    nn_params_alloc(&L->ap);
    actor_init(&L->act, &r, (float)c->logstd_init);
    // the actor's moving average: the same layout, its values set by the first epoch's step
    nn_params_init(&L->mp, 0);
    if (c->actor_average > 0) {
        actor_declare(&L->mact, &L->mp, "actor.", D, A, au, na, c->act);
        nn_params_alloc(&L->mp);
        nn_params_copy(&L->mp, &L->ap, 0.0f);
        nn_params_set_frozen(&L->mp, 1);
    }
    nn_mlp_spec cs;
    lrn_critic_spec(&cs, D, cu, nc, c->act);
    nn_params_init(&L->cp, 0);
    declare_critics(c, L->critics, &L->cp, &cs);
    nn_params_alloc(&L->cp);
    for (int k = 0; k < c->critics; k++) nn_mlp_init(&L->critics[k], NN_INIT_ORTHOGONAL, 0, &r);
    // target critics: a frozen copy, moved toward the critics after each epoch
    nn_params_init(&L->tp, 0);
    L->has_targets = c->targets || c->target_alpha > 0;
    if (L->has_targets) {
        declare_critics(c, L->targets_net, &L->tp, &cs);
        nn_params_alloc(&L->tp);
        nn_params_copy(&L->tp, &L->cp, 0.0f);
        nn_params_set_frozen(&L->tp, 1);
    }
    L->aopt = L->copt = (nn_adam){.beta1 = (float)c->beta1, .beta2 = (float)c->beta2, .eps = 1e-8f};
    size_t hn = (size_t)L->H * L->N;
    L->xbuf = nn_malloc(sizeof(float) * hn * D);
    L->critic_in = L->xbuf;
    L->rew_buf = nn_malloc(sizeof(float) * hn);
    L->done_buf = nn_malloc(sizeof(float) * hn);
    L->next_val = nn_malloc(sizeof(float) * hn);
    L->targets = nn_malloc(sizeof(float) * hn);
    L->eps = nn_malloc(sizeof(float) * L->N * A);
    L->u = nn_malloc(sizeof(double) * L->N * A);
    return 0;
}

void lrn_free(lrn_learner *L) {
    char err[512];
    if (L->recording && ds_recorder_close(&L->rec, err, sizeof err))
        fprintf(stderr, "%s: %s: %s\n", L->c.prog, L->rec_name, err);
    if (L->e) env_batch_free(L->e);
    nn_params_free(&L->ap), nn_params_free(&L->cp), nn_params_free(&L->tp), nn_params_free(&L->mp);
    nn_graph_free(L->g);
    nn_free(L->xbuf), nn_free(L->rew_buf), nn_free(L->done_buf), nn_free(L->next_val), nn_free(L->targets);
    nn_free(L->eps), nn_free(L->u);
}

void lrn_record_step(lrn_learner *L) {
    const env_batch *e = L->e;
    char err[512];
    if (L->recording &&
        ds_recorder_step(&L->rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s; recording (and any learning from new data) stopped\n", L->c.prog, L->rec_name, err);
        ds_recorder_close(&L->rec, err, sizeof err);
        L->recording = 0;
    }
}

void lrn_destroy(lrn_learner *L) { L->src->free(L->src_state); }

// the minimum over k columns (each n × 1); the gradient goes to the smallest
static void min_bwd(nn_graph *g, void *ctx, nn_tensor *out, nn_tensor **in) {
    int K = *(int *)ctx;
    for (int i = 0; i < out->n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (in[k]->x[i] < in[best]->x[i]) best = k;
        if (in[best]->requires_grad) nn_grad(g, in[best])[i] += out->g[i];
    }
}

nn_tensor *lrn_min_value(const lrn_learner *L, nn_tensor *x) {
    nn_graph *g = L->g;
    int K = L->c.critics;
    const nn_mlp *net = L->has_targets ? L->targets_net : L->critics;
    nn_tensor *v[LRN_MAX_CRITICS];
    for (int k = 0; k < K; k++) v[k] = nn_mlp_forward(g, &net[k], x);
    if (K == 1) return v[0];
    int *ctx = nn_graph_alloc(g, sizeof(int));
    *ctx = K;
    nn_tensor *m = nn_custom(g, x->n, 1, v, K, min_bwd, ctx);
    for (int i = 0; i < x->n; i++) {
        float b = v[0]->x[i];
        for (int k = 1; k < K; k++) b = v[k]->x[i] < b ? v[k]->x[i] : b;
        m->x[i] = b;
    }
    return m;
}

void lrn_average_step(nn_params *avg, const nn_params *cur, long ep, int tau) {
    double d = fmin(1.0 - 1.0 / tau, (double)(ep - 1) / (double)ep);
    nn_params_copy(avg, cur, (float)d);
}

float lrn_lr(const lrn_config *c, double lr0, long ep) {
    long decay = c->lr_decay_epochs > 0 ? c->lr_decay_epochs : c->epochs;
    return nn_lr_linear((float)lr0, (float)c->lr_end, ep - 1, decay);
}

void lrn_epoch(void *learner, long ep, char *cols, char *tcols, size_t n) {
    lrn_learner *L = learner;
    const lrn_config *c = &L->c;
    float lr_a = lrn_lr(c, c->actor_lr, ep), lr_c = lrn_lr(c, c->critic_lr, ep);
    L->t_actor = L->t_backward = L->t_critic = 0;
    float loss = L->src->window(L, L->src_state);
    int skipped;
    double norm = lrn_actor_update(&L->ap, &L->aopt, c->actor_clip, lr_a, &L->pr, c->prog, &skipped);
    if (c->actor_average > 0) lrn_average_step(&L->mp, &L->ap, ep, c->actor_average);
    double t1 = nn_now();
    lrn_td_lambda(L->N, L->H, c->gamma, c->lambda, L->rew_buf, L->done_buf, L->next_val, L->targets);
    double closs = lrn_fit_critics(L->g, L->critics, c->critics, &L->cp, &L->copt, L->critic_in, L->targets,
                                   L->N * L->H, L->D, c->critic_iters, c->critic_minibatches, c->critic_clip, lr_c);
    if (L->has_targets) nn_params_copy(&L->tp, &L->cp, (float)c->target_alpha);
    L->t_critic = nn_now() - t1;
    L->last[0] = loss, L->last[1] = norm, L->last[2] = closs;
    char extra[256] = "";
    L->src->after_epoch(L, L->src_state, ep, extra, tcols, n < sizeof extra ? n : sizeof extra);
    snprintf(cols, n, "%.6g,%.6g,%.6g,%s%d", loss, norm, closs, extra, skipped);
}

// the deterministic policy of a learner (its actor, or the actor's average), on a scratch graph
typedef struct {
    nn_graph *g;
    const lrn_learner *L;
    const actor *act;
} det_policy;

static void det_act(void *ctx, const double *obs, int n, double *u) {
    det_policy *p = ctx;
    lrn_policy_forward(p->g, &p->L->in, p->act, obs, n, NULL, u);
}

static int eval_actor(lrn_learner *L, const actor *act, int episodes, long seed, double *mean, double *std, char *err,
                      size_t errlen) {
    det_policy p = {nn_graph_new(1 << 20), L, act};
    int rc = lrn_evaluate(L->c.env, episodes, seed, &L->c.physics, det_act, &p, mean, std, 0, err, errlen);
    nn_graph_free(p.g);
    return rc;
}

int lrn_eval(void *learner, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    lrn_learner *L = learner;
    return eval_actor(L, L->c.actor_average > 0 ? &L->mact : &L->act, episodes, seed, mean, std, err, errlen);
}

// with --actor-average, the actor itself next to its average (lrn_loop's evaluate_actor)
static int lrn_eval_raw(void *learner, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    lrn_learner *L = learner;
    return eval_actor(L, &L->act, episodes, seed, mean, std, err, errlen);
}

int lrn_train(lrn_make_fn make, const void *config, const char *prog, const char *out_dir, int resume, int threads) {
    char err[1024], header[256];
    rundir_files P;
    if (rundir_start(&P, out_dir, resume, err, sizeof err)) return fprintf(stderr, "%s: %s\n", prog, err), 1;
    lrn_setup s = {out_dir, threads, 0, NULL};
    lrn_learner *L = make(config, &s, err, sizeof err);
    if (L && resume && lrn_load(L, P.ckpt, err, sizeof err)) lrn_destroy(L), L = NULL;
    if (!L) return fprintf(stderr, "%s: %s\n", prog, err), 1;
    L->src->describe(L, L->src_state);
    fflush(stdout);
    const lrn_config *c = &L->c;
    snprintf(header, sizeof header, "actor_loss,actor_grad_norm,critic_loss,%sskipped", L->src->log_columns);
    lrn_loop loop = {.prog = c->prog, .epochs = c->epochs, .eval_every = c->eval_every, .save_every = c->save_every,
                     .stop_after = c->stop_after, .max_bad_updates = c->max_bad_updates,
                     .eval_episodes = c->eval_episodes, .seed = c->seed, .log_header = header,
                     .timing_header = L->src->timing_header, .epoch = lrn_epoch, .evaluate = lrn_eval,
                     .evaluate_actor = c->actor_average > 0 ? lrn_eval_raw : NULL, .save = lrn_save, .ctx = L,
                     .pr = &L->pr};
    int rc = lrn_run(&loop, &P, resume);
    lrn_destroy(L);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// gradient check of the actor loss

typedef struct {
    lrn_make_fn make;
    const void *config;
    const lrn_learner *first;
    char *err;
    size_t errlen;
} gc_ctx;

// the first window's loss of a fresh learner with actor parameter i moved by delta
static double gc_loss(void *vctx, size_t i, double delta) {
    gc_ctx *x = vctx;
    lrn_setup s = {NULL, 1, 1, x->first};
    lrn_learner *t = x->make(x->config, &s, x->err, x->errlen);
    if (!t) return NAN;
    t->ap.values[i] += (float)delta;
    double L = t->src->window(t, t->src_state);
    lrn_destroy(t);
    return L;
}

int lrn_actor_gradcheck(lrn_make_fn make, const void *config, int samples, double eps, double *max_rel,
                        double *rel_l2, char *err, size_t errlen) {
    // the loss is a deterministic function of the weights for a fresh learner (same starts, same
    // noise), so each evaluation builds one from the same config
    lrn_setup s = {NULL, 1, 1, NULL};
    lrn_learner *L = make(config, &s, err, errlen);
    if (!L) return -1;
    L->src->window(L, L->src_state);
    gc_ctx x = {make, config, L, err, errlen};
    int rc = lrn_gradcheck(&L->ap, L->ap.grads, samples, eps, gc_loss, &x, max_rel, rel_l2);
    lrn_destroy(L);
    return rc;
}

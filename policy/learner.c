#include "learner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "version.h"

int lrn_parse_units(const char *s, int *units) {
    int n = 0;
    while (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || n == LRN_MAX_UNITS) return -1;
        units[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

void lrn_td_lambda(int N, int h, double gamma, double lambda, const float *rew, const float *done,
                   const float *next_val, float *targets) {
    for (int i = 0; i < N; i++) {
        double Ai = 0, Bi = 0, lam = 1;
        for (int k = h - 1; k >= 0; k--) {
            size_t j = (size_t)k * N + i;
            double d = done[j], r = rew[j], v = next_val[j];
            lam = lam * lambda * (1 - d) + d;
            Ai = (1 - d) * (lambda * gamma * Ai + gamma * v + (1 - lam) / (1 - lambda) * r);
            Bi = gamma * (v * d + Bi * (1 - d)) + r;
            targets[j] = (float)((1 - lambda) * Ai + lam * Bi);
        }
    }
}

double lrn_fit_critics(nn_graph *g, const nn_mlp *critics, int K, nn_params *p, nn_adam *opt, const float *x,
                       const float *targets, int rows, int dim, int iters, int batches, double clip, float lr) {
    int B = rows / batches;
    double last = 0;
    for (int it = 0; it < iters; it++) {
        double sum = 0;
        for (int mb = 0; mb < batches; mb++) {
            nn_graph_reset(g);
            nn_params_zero_grad(p);
            nn_tensor *in = nn_tensor_from(g, x + (size_t)mb * B * dim, B, dim, 0);
            nn_tensor *y = nn_tensor_from(g, targets + (size_t)mb * B, B, 1, 0), *l = NULL;
            for (int k = 0; k < K; k++) {
                nn_tensor *lk = nn_mean(g, nn_mse(g, nn_mlp_forward(g, &critics[k], in), y));
                l = l ? nn_add(g, l, lk) : lk;
            }
            if (K > 1) l = nn_scale(g, l, 1.0f / (float)K);
            nn_backward(g, l);
            nn_grad_nan_to_num(p);
            nn_clip_grad_norm(p, clip);
            nn_adam_step(opt, p, lr);
            sum += l->x[0];
        }
        last = sum / batches;
    }
    return last;
}

int lrn_evaluate(const char *env, int episodes, long seed, const ph_config *physics, lrn_policy_fn policy,
                 void *ctx, double *mean, double *std, int verbose, char *err, size_t errlen) {
    const env_task *t = env_find(env);
    if (!t) return nn_err(err, errlen, "unknown task '%s'", env);
    env_batch *e = env_batch_new(t, physics, NULL, episodes, (unsigned long)seed, 0, err, errlen);
    if (!e) return -1;
    int left = episodes;
    unsigned char *done = nn_malloc((size_t)episodes);
    memset(done, 0, (size_t)episodes);
    double *u = nn_malloc(sizeof(double) * episodes * t->act_dim), sum = 0, sum2 = 0;
    while (left > 0) {
        policy(ctx, e->obs, episodes, u);
        env_step(e, u, 0);
        for (int i = 0; i < episodes; i++)
            if (!done[i] && (e->term[i] || e->trunc[i])) {
                done[i] = 1, left--;
                sum += e->ret_final[i], sum2 += e->ret_final[i] * e->ret_final[i];
                if (verbose) printf("episode %d: return %.2f, length %d (%s)\n", i, e->ret_final[i], e->len_final[i],
                                    e->term[i] ? "terminated" : "time-out");
            }
    }
    *mean = sum / episodes;
    double var = sum2 / episodes - *mean * *mean;
    *std = var > 0 ? sqrt(var) : 0;
    nn_free(done), nn_free(u);
    env_batch_free(e);
    return 0;
}

void lrn_recent_add(lrn_recent *r, double v) {
    r->v[r->i] = v;
    r->i = (r->i + 1) % LRN_RECENT;
    r->n += r->n < LRN_RECENT;
}

double lrn_recent_mean(const lrn_recent *r) {
    if (!r->n) return NAN;
    double s = 0;
    for (int i = 0; i < r->n; i++) s += r->v[i] / r->n;
    return s;
}

FILE *lrn_open_log(const char *path, const char *header) {
    int fresh = !nn_file_exists(path);
    FILE *f = fopen(path, "a");
    if (f && fresh) fprintf(f, "%s\n", header);
    return f;
}

int lrn_truncate_csv(const char *path, long last) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    strbuf keep = {0};
    while (fgets(line, sizeof line, f)) {
        char *end;
        long ep = strtol(line, &end, 10);
        if (end != line && ep > last) continue;
        size_t n = strlen(line);
        sb_reserve(&keep, n);
        memcpy(keep.s + keep.len, line, n + 1);
        keep.len += n;
    }
    fclose(f);
    f = fopen(path, "w");
    if (!f) return -1;
    if (keep.len) fwrite(keep.s, 1, keep.len, f);
    fclose(f);
    nn_free(keep.s);
    return 0;
}

void sb_reserve(strbuf *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return;
    b->cap = 2 * (b->len + more + 1) > 4096 ? 2 * (b->len + more + 1) : 4096;
    char *n = nn_malloc(b->cap);
    if (b->s) memcpy(n, b->s, b->len + 1);
    nn_free(b->s);
    b->s = n;
}

void sb_add(strbuf *b, double v) {
    sb_reserve(b, 40);
    b->len += (size_t)snprintf(b->s + b->len, b->cap - b->len, "%a ", v);
}

double sb_next(const char **p, int *ok) {
    char *end;
    double v = strtod(*p, &end);
    if (end == *p || !isfinite(v)) {
        *ok = 0;
        return NAN;
    }
    *p = end;
    return v;
}

// the next value as an integer in [lo, hi]; anything else (a fraction, out of range) clears *ok
// and gives lo, so a caller never converts an unchecked double
static long sb_next_int(const char **p, int *ok, long lo, long hi) {
    double v = sb_next(p, ok);
    if (!(v >= (double)lo && v <= (double)hi && v == floor(v))) {
        *ok = 0;
        return lo;
    }
    return (long)v;
}

long sb_next_count(const char **p, int *ok, long max) { return sb_next_int(p, ok, 0, max); }

int lrn_epoch_parse(const char *s, long *epoch) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || end == s || *end || errno || v < 0 || v > INT_MAX) return -1;
    *epoch = v;
    return 0;
}

void sb_add_rng(strbuf *b, const nn_rng *r) {
    sb_add(b, (double)r->counter);
    sb_add(b, r->pos);
    for (int i = 0; i < 4; i++) sb_add(b, r->buf[i]);
    sb_add(b, r->has_spare);
    sb_add(b, r->spare);
}

void sb_read_rng(const char **p, int *ok, nn_rng *r) {
    // the counter is exact in a double up to 2^53 blocks; pos indexes buf (4: empty)
    r->counter = (uint64_t)sb_next_int(p, ok, 0, 1L << 53);
    r->pos = (int)sb_next_int(p, ok, 0, 4);
    for (int i = 0; i < 4; i++) r->buf[i] = (uint32_t)sb_next_int(p, ok, 0, UINT32_MAX);
    r->has_spare = (int)sb_next_int(p, ok, 0, 1);
    r->spare = (float)sb_next(p, ok);
}

size_t lrn_env_size(const env_batch *e) {
    const mjModel *m = e->pm->m;
    return (size_t)m->nq + 2 * (size_t)m->nv + (size_t)m->na + (size_t)e->task->act_dim + 1;
}

void lrn_env_get(const env_batch *e, int i, double *v) {
    const mjModel *m = e->pm->m;
    const mjData *d = e->b->d[i];
    int A = e->task->act_dim;
    memcpy(v, d->qpos, sizeof(double) * m->nq), v += m->nq;
    memcpy(v, d->qvel, sizeof(double) * m->nv), v += m->nv;
    if (m->na) memcpy(v, d->act, sizeof(double) * m->na);
    v += m->na;
    memcpy(v, d->qacc_warmstart, sizeof(double) * m->nv), v += m->nv;
    memcpy(v, e->prev + (size_t)i * A, sizeof(double) * A), v += A;
    *v = e->steps[i];
}

void lrn_env_state_write(strbuf *b, const env_batch *e) {
    size_t per = lrn_env_size(e);
    double *v = nn_malloc(sizeof(double) * per);
    sb_add(b, (double)e->episodes);
    sb_add(b, (double)e->blowups);
    for (int i = 0; i < e->n; i++) {
        lrn_env_get(e, i, v);
        for (size_t k = 0; k < per; k++) sb_add(b, v[k]);
        sb_add(b, e->ret[i]);
        sb_add_rng(b, &e->rng[i]);
    }
    nn_free(v);
}

void lrn_env_put(env_batch *e, int i, const double *v) {
    const mjModel *m = e->pm->m;
    int A = e->task->act_dim, O = e->task->obs_dim;
    ph_restore_state(e->b, i, v, v + m->nq, m->na ? v + m->nq + m->nv : NULL, v + m->nq + m->nv + m->na);
    v += m->nq + 2 * m->nv + m->na;
    memcpy(e->prev + (size_t)i * A, v, sizeof(double) * A);
    e->steps[i] = (int)v[A];
    e->task->observe(e->task, m, e->b->d[i], e->prev + (size_t)i * A, e->obs + (size_t)i * O,
                     e->J ? e->J + (size_t)i * O * e->pm->nx : NULL);
}

int lrn_env_state_read(const char **p, env_batch *e) {
    int ok = 1, n = e->n;
    size_t per = lrn_env_size(e) - 1;  // one environment's values before its steps
    double head[2], *envs = nn_malloc(sizeof(double) * n * (per + 2));
    nn_rng *rngs = nn_malloc(sizeof(nn_rng) * n);
    for (int i = 0; i < 2; i++) head[i] = (double)sb_next_count(p, &ok, LONG_MAX / 2);
    for (int i = 0; i < n; i++) {
        double *v = envs + (size_t)i * (per + 2);
        for (size_t k = 0; k < per; k++) v[k] = sb_next(p, &ok);
        v[per] = (double)sb_next_count(p, &ok, e->task->episode_len);  // the episode's steps so far
        v[per + 1] = sb_next(p, &ok);                     // its return so far
        rngs[i] = e->rng[i];
        sb_read_rng(p, &ok, &rngs[i]);
    }
    if (ok) {
        e->episodes = (long)head[0], e->blowups = (long)head[1];
        for (int i = 0; i < n; i++) {
            const double *v = envs + (size_t)i * (per + 2);
            lrn_env_put(e, i, v);
            e->ret[i] = v[per + 1];
            e->rng[i] = rngs[i];
        }
    }
    nn_free(envs), nn_free(rngs);
    return ok ? 0 : -1;
}

double lrn_actor_update(nn_params *p, nn_adam *opt, double clip, float lr, lrn_progress *pr, const char *prog,
                        int *skipped) {
    double norm = nn_grad_norm(p);
    *skipped = !(isfinite(norm) && norm <= 1e6);
    if (*skipped) {
        pr->bad_updates++;
        fprintf(stderr, "%s: epoch %ld: actor gradient norm %g (non-finite or > 1e6): update skipped\n", prog,
                pr->epoch, norm);
    } else {
        nn_clip_grad_norm(p, clip);
        nn_adam_step(opt, p, lr);
        pr->bad_updates = 0;
    }
    return norm;
}

int lrn_run(const lrn_loop *L, const rundir_files *P, int resume) {
    lrn_progress *pr = L->pr;
    char err[1024], hdr[1024], cols[1024], tcols[1024];
    if (resume) {
        lrn_truncate_csv(P->log, pr->epoch);
        lrn_truncate_csv(P->timing, pr->epoch);
        fprintf(stderr, "%s: resuming after epoch %ld (%ld env steps)\n", L->prog, pr->epoch, pr->env_steps);
    }
    snprintf(hdr, sizeof hdr, RUNDIR_LOG_COLUMNS ",%s%s", L->log_header, L->evaluate_actor ? ",eval_actor" : "");
    FILE *log = lrn_open_log(P->log, hdr);
    snprintf(hdr, sizeof hdr, "epoch,%s", L->timing_header);
    FILE *tlog = lrn_open_log(P->timing, hdr);
    if (!log || !tlog) {
        fprintf(stderr, "%s: cannot write %s and %s: %s\n", L->prog, P->log, P->timing, strerror(errno));
        if (log) fclose(log);
        if (tlog) fclose(tlog);
        return 1;
    }
    nn_preempt_install();
    double t_start = nn_now(), wall0 = pr->wall;
    int rc = 0;
    long first = pr->epoch + 1;
    for (long ep = first; ep <= L->epochs; ep++) {
        pr->epoch = ep;
        L->epoch(L->ctx, ep, cols, tcols, sizeof cols);
        pr->wall = wall0 + (nn_now() - t_start);
        double ev = NAN, evs = 0, eva = NAN, evas = 0;
        if (ep % L->eval_every == 0 || ep == L->epochs) {
            if (L->evaluate(L->ctx, L->eval_episodes, L->seed + LRN_EVAL_SEED, &ev, &evs, err, sizeof err))
                fprintf(stderr, "%s: evaluation failed: %s\n", L->prog, err);
            else if (ev > pr->best_eval) {
                pr->best_eval = ev;
                if (L->save(L->ctx, P->best, err, sizeof err)) fprintf(stderr, "%s: %s\n", L->prog, err);
            }
            if (L->evaluate_actor &&
                L->evaluate_actor(L->ctx, L->eval_episodes, L->seed + LRN_EVAL_SEED, &eva, &evas, err, sizeof err))
                fprintf(stderr, "%s: evaluation of the actor failed: %s\n", L->prog, err);
        }
        double train = lrn_recent_mean(&pr->recent);
        fprintf(log, "%ld,%ld,%.3f,%.6g,%.6g,%s", ep, pr->env_steps, pr->wall, train, ev, cols);
        if (L->evaluate_actor) fprintf(log, ",%.6g", eva);
        fputc('\n', log);
        fprintf(tlog, "%ld,%s\n", ep, tcols);
        fflush(log), fflush(tlog);
        if (!isnan(ev)) {
            char actor_ev[80] = "";
            if (L->evaluate_actor) snprintf(actor_ev, sizeof actor_ev, " (the actor itself %.1f +- %.1f)", eva, evas);
            printf("epoch %ld: env steps %ld, train return %.1f, eval return %.1f +- %.1f%s (%.0f s)\n", ep,
                   pr->env_steps, train, ev, evs, actor_ev, pr->wall);
        }
        fflush(stdout);
        if (pr->bad_updates >= L->max_bad_updates) {
            fprintf(stderr, "%s: the actor gradient was non-finite or above 1e6 for %d epochs in a row; stopped. "
                    "The last good checkpoint is %s. Lower --actor-lr, or check the task or model.\n", L->prog,
                    pr->bad_updates, nn_file_exists(P->ckpt) ? P->ckpt : "(none yet)");
            rc = PWM_EXIT_DIVERGED;
            break;
        }
        // a preemption signal (SIGTERM, SIGUSR1) stops at the end of this epoch, as --stop-after
        int preempt = nn_preempted() && ep < L->epochs;
        int stop = (L->stop_after > 0 && ep == L->stop_after && ep < L->epochs) || preempt;
        if ((ep % L->save_every == 0 || ep == L->epochs || stop) && L->save(L->ctx, P->ckpt, err, sizeof err)) {
            fprintf(stderr, "%s: checkpoint not written: %s\n", L->prog, err);
            if (preempt) rc = PWM_EXIT_FAIL;
        }
        nn_progress(L->prog, ep - first + 1, L->epochs - first + 1, t_start);
        if (stop) {
            if (preempt)
                printf("preempted (signal %d): checkpoint of epoch %ld written; continue with --resume (exit %d)\n",
                       nn_preempt_signal(), ep, PWM_EXIT_PREEMPTED);
            else
                printf("stopped after epoch %ld as asked (--stop-after); continue with --resume\n", ep);
            fflush(stdout);
            fclose(log), fclose(tlog);
            return preempt ? (rc ? rc : PWM_EXIT_PREEMPTED) : 0;
        }
    }
    fclose(log), fclose(tlog);
    if (rc == 0) {
        if (L->save(L->ctx, P->final, err, sizeof err)) fprintf(stderr, "%s: %s\n", L->prog, err);
        double mean, std;
        int n = L->eval_episodes >= LRN_FINAL_EPISODES ? L->eval_episodes : LRN_FINAL_EPISODES;
        if (L->evaluate(L->ctx, n, L->seed + LRN_FINAL_SEED, &mean, &std, err, sizeof err) == 0) {
            double actor[2];
            int with_actor = L->evaluate_actor != NULL;
            if (with_actor &&
                L->evaluate_actor(L->ctx, n, L->seed + LRN_FINAL_SEED, &actor[0], &actor[1], err, sizeof err))
                fprintf(stderr, "%s: final evaluation of the actor failed: %s\n", L->prog, err), with_actor = 0;
            if (rundir_write_eval(P, n, mean, std, pr->env_steps, with_actor ? actor : NULL))
                fprintf(stderr, "%s: cannot write %s: %s\n", L->prog, P->eval, strerror(errno));
            printf("final evaluation: %d deterministic episodes, return %.2f +- %.2f\n", n, mean, std);
            if (with_actor) printf("final evaluation of the actor itself: return %.2f +- %.2f\n", actor[0], actor[1]);
        }
    }
    return rc;
}

int lrn_gradcheck(const nn_params *p, const float *grad, int samples, double eps,
                  double (*loss)(void *ctx, size_t i, double delta), void *ctx, double *max_rel, double *rel_l2) {
    double diff2 = 0, ref2 = 0, worst = 0, big = 0, *num = nn_malloc(sizeof(double) * samples);
    size_t *idx = nn_malloc(sizeof(size_t) * samples);
    int rc = 0;
    for (int k = 0; k < samples && rc == 0; k++) {
        const nn_param *e = &p->list[k % p->n];
        idx[k] = e->offset + ((size_t)k * 7919u) % ((size_t)e->t.n * e->t.d);
        double hi = loss(ctx, idx[k], eps), lo = isnan(hi) ? NAN : loss(ctx, idx[k], -eps);
        if (isnan(hi) || isnan(lo)) rc = -1;
        num[k] = (hi - lo) / (2 * eps);
        big = fmax(big, fabs(num[k]));
    }
    for (int k = 0; k < samples && rc == 0; k++) {
        double a = grad[idx[k]], d = fabs(a - num[k]);
        diff2 += d * d, ref2 += num[k] * num[k];
        worst = fmax(worst, d / fmax(fmax(fabs(a), fabs(num[k])), 1e-2 * big + 1e-12));
    }
    *max_rel = worst;
    *rel_l2 = sqrt(diff2 / fmax(ref2, 1e-300));
    nn_free(num), nn_free(idx);
    return rc;
}

const float *lrn_noise(float **buf, int *cap, int n, int A, nn_rng *r) {
    if (!r) return NULL;
    if (n * A > *cap) {
        nn_free(*buf);
        *buf = nn_malloc(sizeof(float) * n * A);
        *cap = n * A;
    }
    for (int i = 0; i < n * A; i++) (*buf)[i] = nn_rng_normal(r);
    return *buf;
}

const env_task *lrn_policy_meta(const st_file *f, const char *ckpt, const char *env, int *units, int *n_units,
                                char *err, size_t errlen) {
    const char *fenv = st_meta(f, "env"), *u = st_meta(f, "actor_units");
    const env_task *t = fenv ? env_find(fenv) : NULL;
    *n_units = u ? lrn_parse_units(u, units) : -1;
    if (!t || *n_units < 1) {
        nn_err(err, errlen, "%s: not a policy checkpoint of this program (no task or actor units in its metadata)", ckpt);
        return NULL;
    }
    if (env && strcmp(env, fenv)) {
        nn_err(err, errlen, "%s holds a policy for task '%s', not '%s'", ckpt, fenv, env);
        return NULL;
    }
    return t;
}

const char *lrn_policy_prefix(const st_file *f) { return st_find(f, "m/actor.logstd") ? "m/" : "a/"; }

void lrn_progress_write(strbuf *b, const lrn_progress *p) {
    double head[] = {(double)p->env_steps, p->wall, p->bad_updates, p->best_eval, p->recent.n, p->recent.i};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) sb_add(b, head[i]);
    for (int i = 0; i < LRN_RECENT; i++) sb_add(b, p->recent.v[i]);
}

int lrn_progress_read(const char **p, lrn_progress *out) {
    int ok = 1;
    lrn_progress r = *out;
    r.env_steps = sb_next_count(p, &ok, LONG_MAX / 2);
    r.wall = sb_next(p, &ok);
    r.bad_updates = (int)sb_next_count(p, &ok, INT_MAX);
    // the best evaluation starts at -inf, which sb_add writes as "-inf"
    while (**p == ' ') (*p)++;
    if (!strncmp(*p, "-inf", 4)) r.best_eval = -INFINITY, *p += 4;
    else r.best_eval = sb_next(p, &ok);
    r.recent.n = (int)sb_next_count(p, &ok, LRN_RECENT);
    r.recent.i = (int)sb_next_count(p, &ok, LRN_RECENT - 1);
    for (int i = 0; i < LRN_RECENT; i++) r.recent.v[i] = sb_next(p, &ok);
    if (!ok || r.wall < 0) return -1;
    *out = r;
    return 0;
}

int lrn_ckpt_open(st_file *f, const char *path, const char *format, const char *what, const char *env,
                  const char **state, const char **epoch, char *err, size_t errlen) {
    if (st_read(path, f, err, errlen)) return -1;
    const char *task = st_meta(f, "env"), *fmt = st_meta(f, "format");
    *state = st_meta(f, "state"), *epoch = st_meta(f, "epoch");
    if (!task || strcmp(task, env) || !*state || !*epoch || !fmt || strcmp(fmt, format)) {
        nn_err(err, errlen, "%s: not a %s checkpoint of task '%s' (task %s); start a new run or point --out "
               "elsewhere", path, what, env, task ? task : "missing");
        st_free(f);
        return -1;
    }
    return 0;
}

st_writer *lrn_ckpt_writer(const char *format, const char *env, const char *actor_units) {
    st_writer *w = st_writer_new();
    st_writer_meta(w, "format", format);
    st_writer_meta(w, "env", env);
    st_writer_meta(w, "actor_units", actor_units);
    return w;
}

int lrn_ckpt_commit(st_writer *w, long epoch, strbuf *b, const char *path, char *err, size_t errlen) {
    char buf[64];
    st_writer_meta(w, "git_commit", PWM_GIT_COMMIT);
    snprintf(buf, sizeof buf, "%ld", epoch);
    st_writer_meta(w, "epoch", buf);
    st_writer_meta(w, "state", b->s);
    st_writer_seal(w);
    int rc = st_writer_commit(w, path, err, errlen);
    st_writer_free(w);
    nn_free(b->s);
    b->s = NULL;
    return rc;
}

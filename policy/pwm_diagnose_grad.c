// pwm diagnose: gradients of a return with respect to an open-loop action sequence, the true one
// by central differences through MuJoCo from an exactly restored state, and the world model's
// through the nn graph (the actions as leaf tensors); and the critic's term and the policy's own
// tail through MuJoCo.
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "pwm_diagnose.h"
#include "pwm_internal.h"

#define GRAPH_BYTES ((size_t)4 << 20)

// ---------------------------------------------------------------------------------------------
// a saved real state (lrn_env_get's layout) put back

void pwm_diag_restore(env_batch *e, int i, const double *s) {
    lrn_env_put(e, i, s);  // as a resumed run restores it
    e->ret[i] = 0;
}

// ---------------------------------------------------------------------------------------------
// the true gradient

// step j's actions U (F × A) of the batch holding perturbations p0 .. p0 + cnt − 1 of the action
// sequence u: perturbation p is 0 for none, 1 + 2m for component m (step m / A, action m % A) moved
// up by eps, 2 + 2m for it moved down, both kept inside [−1, 1] (the environment clips there)
static void perturbed_actions(double *U, const double *u, int j, int A, int F, int p0, int cnt, double eps) {
    for (int i = 0; i < F; i++) {
        memcpy(U + (size_t)i * A, u + (size_t)j * A, sizeof(double) * A);
        int p = p0 + i, m = (p - 1) / 2;
        if (i < cnt && p > 0 && m / A == j) {
            double *x = U + (size_t)i * A + m % A;
            *x = p % 2 ? fmin(*x + eps, 1.0) : fmax(*x - eps, -1.0);
        }
    }
}

// the distance between the up and down perturbations of each of the n components of u
static void perturbation_steps(double *step, const double *u, int n, double eps) {
    for (int m = 0; m < n; m++) step[m] = fmin(u[m] + eps, 1.0) - fmax(u[m] - eps, -1.0);
}

// the batch's environments restored to s and none done, for the perturbations p0 ...; their count
static int restore_chunk(env_batch *fd, const double *s, unsigned char *done, int P, int p0) {
    for (int i = 0; i < fd->n; i++) pwm_diag_restore(fd, i, s);
    memset(done, 0, (size_t)fd->n);
    return P - p0 < fd->n ? P - p0 : fd->n;
}

void pwm_diag_true_grad(env_batch *fd, const double *s, const double *u, int h, double gamma, double eps,
                        double *grad, double *J, int h_short, double *grad_short) {
    int A = fd->task->act_dim, F = fd->n, P = 2 * h * A + 1;
    nn_check(F > 0 && h > 0, "pwm_diag_true_grad: %d environments, horizon %d", F, h);
    double *U = nn_malloc(sizeof(double) * F * A), *ret = nn_malloc(sizeof(double) * P);
    double *ret_s = nn_malloc(sizeof(double) * P), *step = nn_malloc(sizeof(double) * h * A);
    unsigned char *done = nn_malloc((size_t)F);
    perturbation_steps(step, u, h * A, eps);
    for (int p0 = 0; p0 < P; p0 += F) {
        int cnt = restore_chunk(fd, s, done, P, p0);
        for (int i = 0; i < cnt; i++) ret[p0 + i] = ret_s[p0 + i] = 0;
        double disc = 1;
        for (int j = 0; j < h; j++) {
            perturbed_actions(U, u, j, A, F, p0, cnt, eps);
            env_step(fd, U, 0);
            for (int i = 0; i < cnt; i++) {
                if (done[i]) continue;
                ret[p0 + i] += disc * fd->rew[i];
                if (j < h_short) ret_s[p0 + i] += disc * fd->rew[i];
                // rewards after a termination (or a time-out) do not count
                done[i] = fd->term[i] || fd->trunc[i];
            }
            disc *= gamma;
        }
    }
    *J = ret[0];
    for (int m = 0; m < h * A; m++) {
        grad[m] = (ret[1 + 2 * m] - ret[2 + 2 * m]) / step[m];
        if (grad_short) grad_short[m] = m / A < h_short ? (ret_s[1 + 2 * m] - ret_s[2 + 2 * m]) / step[m] : 0.0;
    }
    nn_free(U), nn_free(ret), nn_free(ret_s), nn_free(step), nn_free(done);
}

// ---------------------------------------------------------------------------------------------
// the model's gradient

// the parameter tensors of the world model and the critics, held without gradient meanwhile
typedef struct {
    nn_tensor *t[1024];
    int flag[1024], n;
} held;

static void hold(held *h, nn_tensor *t) {
    if (!t || h->n == 1024) return;
    h->t[h->n] = t, h->flag[h->n++] = t->requires_grad;
    t->requires_grad = 0;
}

static void hold_nets(held *h, const pwm_diag_nets *n) {
    h->n = 0;
    for (int i = 0; i < n->w->p.n; i++) hold(h, &n->w->p.list[i].t);
    for (int k = 0; k < n->ncritics; k++)
        for (int l = 0; l < n->critics[k].n_layers; l++) {
            const nn_mlp *m = &n->critics[k];
            hold(h, m->W[l]), hold(h, m->b[l]), hold(h, m->ln_w[l]), hold(h, m->ln_b[l]);
        }
}

static void release(held *h) {
    for (int i = 0; i < h->n; i++) h->t[i]->requires_grad = h->flag[i];
}

void pwm_diag_model_grad(const pwm_diag_nets *n, const float *z0, const float *u, int rows, int h, const int *len,
                         int task_units, int value, float *grad, double *ret) {
    const world_model *w = n->w;
    int A = w->c.act_dim, Z = w->c.latent;
    held hd;
    hold_nets(&hd, n);
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    double std = sqrt((double)n->rew_rms->var[0] + n->rew_rms->eps);
    double shift = task_units && !n->rew_rms->scale_only ? n->rew_rms->mean[0] : 0.0;
    float scale = task_units ? (float)std : 1.0f, *col = nn_graph_alloc(g, sizeof(float) * rows);
    nn_tensor **a = nn_graph_alloc(g, sizeof(nn_tensor *) * h), *z = nn_tensor_from(g, z0, rows, Z, 0), *total = NULL;
    double *base = nn_malloc(sizeof(double) * rows);  // the reward shift Σ γ^j·mean of task units
    memset(base, 0, sizeof(double) * rows);
    double disc = 1;
    for (int j = 0; j < h; j++, disc *= n->gamma) {
        a[j] = nn_tensor_from(g, u + (size_t)j * rows * A, rows, A, 1);
        for (int i = 0; i < rows; i++) {
            int on = !len || j < len[i];
            col[i] = on ? (float)(disc * scale) : 0.0f;
            base[i] += on ? disc * shift : 0.0;
        }
        nn_tensor *r = nn_mul(g, wm_reward(g, w, z, a[j], NULL), nn_tensor_from(g, col, rows, 1, 0));
        total = total ? nn_add(g, total, r) : r;
        if (j < h - 1 || value) z = wm_dynamics(g, w, z, a[j], NULL);
    }
    if (value) {
        // + γ^h·min_k V_k(ẑ_h): each row's gradient goes to its smallest critic, as a min op's does
        nn_tensor *v[64];
        int K = n->ncritics < 64 ? n->ncritics : 64;
        for (int k = 0; k < K; k++) v[k] = nn_mlp_forward(g, &n->critics[k], z);
        for (int k = 0; k < K; k++) {
            for (int i = 0; i < rows; i++) {
                int best = 0;
                for (int q = 1; q < K; q++)
                    if (v[q]->x[i] < v[best]->x[i]) best = q;
                col[i] = best == k && (!len || len[i] == h) ? (float)disc : 0.0f;
            }
            total = nn_add(g, total, nn_mul(g, v[k], nn_tensor_from(g, col, rows, 1, 0)));
        }
    }
    // rows are independent: the gradient of their sum is each row's own
    nn_backward(g, nn_scale(g, nn_mean(g, total), (float)rows));
    for (int i = 0; ret && i < rows; i++) ret[i] = total->x[i] + base[i];
    for (int j = 0; grad && j < h; j++) {
        if (a[j]->g) memcpy(grad + (size_t)j * rows * A, a[j]->g, sizeof(float) * rows * A);
        else memset(grad + (size_t)j * rows * A, 0, sizeof(float) * rows * A);
    }
    nn_free(base);
    nn_graph_free(g);
    release(&hd);
}

// ---------------------------------------------------------------------------------------------
// the critic's term and the policy's own tail through the true dynamics

void pwm_diag_true_tail(const pwm_diag_nets *n, env_batch *fd, const double *s, const double *u, int H, int h,
                        double eps, double *vgrad, double *tgrad) {
    int A = fd->task->act_dim, F = fd->n, P = 2 * H * A + 1;
    nn_check(F > 0 && H > 0 && h >= H, "pwm_diag_true_tail: %d environments, window %d, horizon %d", F, H, h);
    double *U = nn_malloc(sizeof(double) * F * A), *val = nn_malloc(sizeof(double) * P);
    double *tail = nn_malloc(sizeof(double) * P), *step = nn_malloc(sizeof(double) * H * A);
    double *v = nn_malloc(sizeof(double) * F);
    float *of = nn_malloc(sizeof(float) * F * fd->task->obs_dim), *z = nn_malloc(sizeof(float) * F * n->w->c.latent);
    unsigned char *done = nn_malloc((size_t)F);
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    lrn_input in = {.w = n->w, .obs_dim = n->w->c.obs_dim};
    // perturbations of the first H steps' actions only
    perturbation_steps(step, u, H * A, eps);
    for (int p0 = 0; p0 < P; p0 += F) {
        int cnt = restore_chunk(fd, s, done, P, p0);
        for (int i = 0; i < cnt; i++) val[p0 + i] = tail[p0 + i] = 0;
        double disc = 1;
        for (int j = 0; j < h; j++, disc *= n->gamma) {
            if (j < H) {
                perturbed_actions(U, u, j, A, F, p0, cnt, eps);
            } else {
                lrn_policy_forward(g, &in, n->act, fd->obs, F, NULL, U);  // the deterministic policy, closed loop
            }
            env_step(fd, U, 0);
            for (int i = 0; i < cnt; i++)
                if (!done[i] && j >= H) tail[p0 + i] += disc * fd->rew[i];
            if (j == H - 1) {
                // γ^H·min V(enc(o_H)) of the observation the step produced; 0 after a termination or an
                // earlier end
                for (int i = 0; i < F * fd->task->obs_dim; i++) of[i] = (float)fd->obs_final[i];
                pwm_diag_encode(n->w, of, F, z);
                pwm_diag_min_values(n, z, F, v);
                for (int i = 0; i < cnt; i++) val[p0 + i] = done[i] || fd->term[i] ? 0.0 : disc * n->gamma * v[i];
            }
            for (int i = 0; i < cnt; i++) done[i] = done[i] || fd->term[i] || fd->trunc[i];
        }
    }
    for (int m = 0; m < H * A; m++) {
        vgrad[m] = (val[1 + 2 * m] - val[2 + 2 * m]) / step[m];
        tgrad[m] = (tail[1 + 2 * m] - tail[2 + 2 * m]) / step[m];
    }
    nn_graph_free(g);
    nn_free(U), nn_free(val), nn_free(tail), nn_free(step), nn_free(v), nn_free(done);
    nn_free(of), nn_free(z);
}

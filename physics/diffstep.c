#include "diffstep.h"

#include <string.h>

static double *arena_copy(nn_graph *g, const double *src, size_t n) {
    double *d = nn_graph_alloc(g, sizeof(double) * n);
    memcpy(d, src, sizeof(double) * n);
    return d;
}

// ---------------------------------------------------------------------------------------------
// the step and the reset rule

typedef struct {
    const ph_batch *b;
    int t;
} step_ctx;

static void step_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    step_ctx *c = vctx;
    int N = out->n, nx = out->d, A = in[1]->d;
    double *gout = nn_graph_alloc(g, sizeof(double) * N * nx), *gin = nn_graph_alloc(g, sizeof(double) * N * nx);
    double *gu = nn_graph_alloc(g, sizeof(double) * N * A);
    for (int i = 0; i < N * nx; i++) gout[i] = out->g[i];
    memset(gu, 0, sizeof(double) * N * A);
    ph_vjp(c->b, c->t, gout, gin, gu);
    if (in[0]->requires_grad) {
        float *gx = nn_grad(g, in[0]);
        for (int i = 0; i < N * nx; i++) gx[i] += (float)gin[i];
    }
    if (in[1]->requires_grad) {
        float *gx = nn_grad(g, in[1]);
        for (int i = 0; i < N * A; i++) gx[i] += (float)gu[i];
    }
}

nn_tensor *ph_node_step(nn_graph *g, const ph_batch *b, int t, nn_tensor *x, nn_tensor *u) {
    step_ctx *sc = nn_graph_alloc(g, sizeof *sc);
    *sc = (step_ctx){b, t};
    nn_tensor *xu[2] = {x, u};
    nn_tensor *xo = nn_custom(g, x->n, x->d, xu, 2, step_bwd, sc);
    memset(xo->x, 0, sizeof(float) * x->n * x->d);
    return xo;
}

// the reset rule: the gradient on the start of step t + 1 flows into step t's output unless a cut
// was recorded after step t
static int carries(const ph_batch *b, int t, int env) { return !ph_was_cut(b, t, env); }

typedef struct {
    const unsigned char *cut;  // n
} cut_ctx;

static void cut_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    cut_ctx *c = vctx;
    float *gx = nn_grad(g, in[0]);
    for (int i = 0; i < out->n; i++)
        if (!c->cut[i])
            for (int k = 0; k < out->d; k++) gx[(size_t)i * out->d + k] += out->g[(size_t)i * out->d + k];
}

nn_tensor *ph_node_cut(nn_graph *g, const ph_batch *b, int t, nn_tensor *xo, const unsigned char **cut) {
    int n = xo->n;
    unsigned char *flags = nn_graph_alloc(g, (size_t)n);
    for (int i = 0; i < n; i++) flags[i] = (unsigned char)!carries(b, t, i);
    cut_ctx *cc = nn_graph_alloc(g, sizeof *cc);
    cc->cut = flags;
    nn_tensor *x = nn_custom(g, n, xo->d, &xo, 1, cut_bwd, cc);
    memset(x->x, 0, sizeof(float) * n * xo->d);
    if (cut) *cut = flags;
    return x;
}

// ---------------------------------------------------------------------------------------------
// functions of the states with recorded derivatives

typedef struct {
    const double *J;               // n × O × nx (a copy in the arena)
    const unsigned char *no_prev;  // n or NULL: rows whose previous-action entries do not come from in[1]
    int O, nx, prev_at;
} obs_ctx;

// ∂obs/∂x through J; the previous-action entries' gradient to the action tensor in[1]
static void obs_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    obs_ctx *c = vctx;
    if (in[0]->requires_grad) {
        float *gx = nn_grad(g, in[0]);
        for (int i = 0; i < out->n; i++) {
            const double *J = c->J + (size_t)i * c->O * c->nx;
            for (int o = 0; o < c->O; o++) {
                float go = out->g[(size_t)i * c->O + o];
                if (go == 0.0f) continue;
                for (int k = 0; k < c->nx; k++) gx[(size_t)i * c->nx + k] += (float)(J[(size_t)o * c->nx + k] * go);
            }
        }
    }
    if (c->prev_at > 0 && in[1]->requires_grad) {
        int A = in[1]->d;
        float *gu = nn_grad(g, in[1]);
        for (int i = 0; i < out->n; i++)
            if (!c->no_prev || !c->no_prev[i])
                for (int j = 0; j < A; j++) gu[(size_t)i * A + j] += out->g[(size_t)i * c->O + c->prev_at + j];
    }
}

nn_tensor *ph_node_observe(nn_graph *g, nn_tensor *x, nn_tensor *u, int prev_at, const unsigned char *no_prev, int O,
                           const double *obs, const double *J) {
    int N = x->n, nx = x->d;
    obs_ctx *c = nn_graph_alloc(g, sizeof *c);
    *c = (obs_ctx){arena_copy(g, J, (size_t)N * O * nx), no_prev, O, nx, u ? prev_at : 0};
    nn_tensor *xu[2] = {x, u};
    nn_tensor *y = nn_custom(g, N, O, xu, u ? 2 : 1, obs_bwd, c);
    for (int i = 0; i < N * O; i++) y->x[i] = (float)obs[i];
    return y;
}

typedef struct {
    const double *dx, *dpost, *da;
    int nx, A;
} rew_ctx;

static void rew_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    rew_ctx *c = vctx;
    for (int i = 0; i < out->n; i++) {
        float go = out->g[i];
        if (in[0]->requires_grad) {
            float *gx = nn_grad(g, in[0]);
            for (int k = 0; k < c->nx; k++) gx[(size_t)i * c->nx + k] += (float)(c->dx[(size_t)i * c->nx + k] * go);
        }
        if (in[1]->requires_grad) {
            float *gu = nn_grad(g, in[1]);
            for (int j = 0; j < c->A; j++) gu[(size_t)i * c->A + j] += (float)(c->da[(size_t)i * c->A + j] * go);
        }
        if (in[2]->requires_grad) {
            float *gp = nn_grad(g, in[2]);
            for (int k = 0; k < c->nx; k++) gp[(size_t)i * c->nx + k] += (float)(c->dpost[(size_t)i * c->nx + k] * go);
        }
    }
}

nn_tensor *ph_node_reward(nn_graph *g, nn_tensor *x, nn_tensor *u, nn_tensor *xo, const double *r, const double *dx,
                          const double *da, const double *dpost) {
    int N = x->n, nx = x->d, A = u->d;
    rew_ctx *rc = nn_graph_alloc(g, sizeof *rc);
    *rc = (rew_ctx){arena_copy(g, dx, (size_t)N * nx), arena_copy(g, dpost, (size_t)N * nx),
                    arena_copy(g, da, (size_t)N * A), nx, A};
    nn_tensor *xu[3] = {x, u, xo};
    nn_tensor *y = nn_custom(g, N, 1, xu, 3, rew_bwd, rc);
    for (int i = 0; i < N; i++) y->x[i] = (float)r[i];
    return y;
}

// ---------------------------------------------------------------------------------------------
// a whole window in double precision

void ph_backward(const ph_batch *b, const double *const *dldx, double *const *dldu, double *gx0) {
    int n = b->n, nx = b->pm->nx, nu = b->pm->nu;
    double *g = gx0;  // running dL/d(start of step t+1), then dL/d(output of step t), then dL/d(start of step t)
    memset(g, 0, sizeof(double) * n * nx);
    for (int t = b->len - 1; t >= 0; t--) {
        // dL/d(output of step t): what flows back from step t+1 where it carries, plus its direct term
        for (int e = 0; e < n; e++)
            if (t + 1 < b->len && !carries(b, t, e)) memset(g + (size_t)e * nx, 0, sizeof(double) * nx);
        if (dldx[t + 1])
            for (int i = 0; i < n * nx; i++) g[i] += dldx[t + 1][i];
        memset(dldu[t], 0, sizeof(double) * n * nu);
        ph_vjp(b, t, g, g, dldu[t]);
    }
    if (dldx[0])
        for (int i = 0; i < n * nx; i++) g[i] += dldx[0][i];
}

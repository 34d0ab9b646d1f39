#include "graph.h"

#include <math.h>
#include <string.h>

#include "common.h"
#include "device.h"

// ---------------------------------------------------------------------------------------------
// arena: a list of blocks; a pass bumps through them and reset rewinds to the first

typedef struct arena_block {
    struct arena_block *next;
    size_t size, used;
    unsigned char *mem;
} arena_block;

typedef struct nn_node nn_node;
typedef void (*backward_fn)(nn_graph *g, nn_node *nd);

struct nn_node {
    backward_fn backward;
    nn_node *prev;
    nn_tensor *out;
    nn_tensor *in[3];
    nn_tensor **list;  // concat's inputs
    int k;             // concat: count; split: column offset; simnorm: group; act: activation
    float *aux[4];     // saved buffers (mean/rstd, probabilities, ...)
    float s, lo, hi;   // scale factor; clamp bounds
    nn_custom_backward custom;
    void *ctx;
    nn_bins bins;
};

struct nn_graph {
    arena_block *first, *cur;
    size_t chunk;
    nn_node *last;
    int no_grad;
};

nn_graph *nn_graph_new(size_t chunk_bytes) {
    nn_graph *g = nn_malloc(sizeof *g);
    g->chunk = chunk_bytes ? chunk_bytes : (size_t)64 << 20;
    return g;
}

void nn_graph_free(nn_graph *g) {
    if (!g) return;
    for (arena_block *b = g->first, *next; b; b = next) {
        next = b->next;
        nn_device_free(b->mem);
        nn_free(b);
    }
    nn_free(g);
}

void nn_graph_reset(nn_graph *g) {
    for (arena_block *b = g->first; b; b = b->next) b->used = 0;
    g->cur = g->first;
    g->last = NULL;
}

size_t nn_graph_bytes(const nn_graph *g) {
    size_t total = 0;
    for (arena_block *b = g->first; b; b = b->next) total += b->size;
    return total;
}

void nn_graph_set_no_grad(nn_graph *g, int no_grad) { g->no_grad = no_grad; }

static void *bump(arena_block *b, size_t bytes) {
    void *p = b->mem + b->used;
    b->used += bytes;
    return p;
}

void *nn_graph_alloc(nn_graph *g, size_t bytes) {
    bytes = (bytes + 63) & ~(size_t)63;
    arena_block *cur = g->cur;
    // the current block, else the next one (blocks after the current one are empty)
    if (cur && cur->size - cur->used >= bytes) return bump(cur, bytes);
    if (cur && cur->next && cur->next->size >= bytes) return bump(g->cur = cur->next, bytes);
    // else a new block right after the current one
    arena_block *nb = nn_malloc(sizeof *nb);
    nb->size = bytes > g->chunk ? bytes : g->chunk;
    nb->mem = nn_device_alloc(nb->size);
    if (cur) {
        nb->next = cur->next;
        cur->next = nb;
    } else {
        g->first = nb;
    }
    g->cur = nb;
    return bump(nb, bytes);
}

// ---------------------------------------------------------------------------------------------
// tensors

nn_tensor *nn_tensor_new(nn_graph *g, int n, int d, int requires_grad) {
    nn_check(n > 0 && d > 0, "tensor shape (%d, %d) must be positive", n, d);
    nn_tensor *t = nn_graph_alloc(g, sizeof *t);
    t->x = nn_graph_alloc(g, sizeof(float) * (size_t)n * d);
    t->g = NULL;
    t->n = n;
    t->d = d;
    t->requires_grad = requires_grad;
    return t;
}

nn_tensor *nn_tensor_from(nn_graph *g, const float *data, int n, int d, int requires_grad) {
    nn_tensor *t = nn_tensor_new(g, n, d, requires_grad);
    memcpy(t->x, data, sizeof(float) * (size_t)n * d);
    return t;
}

float *nn_grad(nn_graph *g, nn_tensor *t) {
    if (!t->g) {
        size_t bytes = sizeof(float) * (size_t)t->n * t->d;
        t->g = nn_graph_alloc(g, bytes);
        nn_device_zero(t->g, bytes);
    }
    return t->g;
}

// gradient buffer of t if t wants one, else NULL (the kernels skip NULL outputs)
static float *grad_if(nn_graph *g, nn_tensor *t) { return t && t->requires_grad ? nn_grad(g, t) : NULL; }

static size_t numel(const nn_tensor *t) { return (size_t)t->n * t->d; }

// push a node for out when need is set (and grad mode is on); otherwise mark out as constant
static nn_node *push_node(nn_graph *g, nn_tensor *out, backward_fn fn, int need) {
    out->requires_grad = need && !g->no_grad;
    if (!out->requires_grad) return NULL;
    nn_node *nd = nn_graph_alloc(g, sizeof *nd);
    memset(nd, 0, sizeof *nd);
    nd->backward = fn;
    nd->out = out;
    nd->prev = g->last;
    g->last = nd;
    return nd;
}

// record a node with inputs a, b, c (any may be NULL) if one of them needs a gradient
static nn_node *record(nn_graph *g, nn_tensor *out, backward_fn fn, nn_tensor *a, nn_tensor *b, nn_tensor *c) {
    int need = (a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad);
    nn_node *nd = push_node(g, out, fn, need);
    if (nd) {
        nd->in[0] = a;
        nd->in[1] = b;
        nd->in[2] = c;
    }
    return nd;
}

void nn_backward(nn_graph *g, nn_tensor *loss) {
    if (loss) {
        nn_check(loss->n == 1 && loss->d == 1, "nn_backward: loss must be 1x1, got %dx%d", loss->n, loss->d);
        nn_grad(g, loss)[0] += 1.0f;
    }
    for (nn_node *nd = g->last; nd; nd = nd->prev)
        if (nd->out->g) nd->backward(g, nd);
}

static void check_same(const char *op, const nn_tensor *a, const nn_tensor *b) {
    nn_check(a->n == b->n && a->d == b->d, "%s: shapes differ, (%d, %d) vs (%d, %d)", op, a->n, a->d, b->n, b->d);
}

// ---------------------------------------------------------------------------------------------
// linear and layernorm

static void linear_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *x = nd->in[0], *W = nd->in[1], *b = nd->in[2];
    linear_backward(grad_if(g, x), grad_if(g, W), grad_if(g, b), nd->out->g, x->x, W->x, x->n, x->d, W->n);
}

nn_tensor *nn_linear(nn_graph *g, nn_tensor *x, nn_tensor *W, nn_tensor *b) {
    nn_check(W->d == x->d, "linear: input has %d columns but the weight expects %d", x->d, W->d);
    nn_check(!b || (b->n == 1 && b->d == W->n), "linear: bias must be 1x%d", W->n);
    nn_tensor *y = nn_tensor_new(g, x->n, W->n, 0);
    linear_forward(y->x, x->x, W->x, b ? b->x : NULL, x->n, x->d, W->n);
    record(g, y, linear_bwd, x, W, b);
    return y;
}

static void layernorm_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
    layernorm_backward(grad_if(g, x), grad_if(g, w), grad_if(g, b), nd->out->g, x->x, w->x, nd->aux[0],
                       nd->aux[1], x->n, x->d);
}

nn_tensor *nn_layernorm(nn_graph *g, nn_tensor *x, nn_tensor *w, nn_tensor *b) {
    nn_check(w->n * w->d == x->d && b->n * b->d == x->d, "layernorm: affine parameters must have %d values", x->d);
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    float *mean = nn_graph_alloc(g, sizeof(float) * x->n), *rstd = nn_graph_alloc(g, sizeof(float) * x->n);
    layernorm_forward(y->x, mean, rstd, x->x, w->x, b->x, x->n, x->d);
    nn_node *nd = record(g, y, layernorm_bwd, x, w, b);
    if (nd) {
        nd->aux[0] = mean;
        nd->aux[1] = rstd;
    }
    return y;
}

// Linear → LayerNorm → act (or SimNorm) as one node: list = {x, W, b, ln_w, ln_b}, aux = {h (the
// Linear's output), LayerNorm output, mean, rstd}, k = act, s = SimNorm group (0: none)
static void linear_norm_act_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *x = nd->list[0], *W = nd->list[1], *b = nd->list[2], *lw = nd->list[3], *lb = nd->list[4];
    int N = x->n, OC = W->n;
    float *dh = nn_graph_alloc(g, sizeof(float) * (size_t)N * OC), *gln = nn_graph_alloc(g, sizeof(float) * (size_t)N * OC);
    layernorm_act_backward(dh, grad_if(g, lw), grad_if(g, lb), grad_if(g, b), gln, nd->out->g, nd->aux[0], nd->aux[1],
                           nd->out->x, lw->x, nd->aux[2], nd->aux[3], N, OC, (nn_act)nd->k, (int)nd->s);
    linear_backward(grad_if(g, x), grad_if(g, W), NULL, dh, x->x, W->x, N, x->d, OC);
}

nn_tensor *nn_linear_norm_act(nn_graph *g, nn_tensor *x, nn_tensor *W, nn_tensor *b, nn_tensor *ln_w, nn_tensor *ln_b,
                              nn_act act, int group) {
    nn_check(W->d == x->d, "linear: input has %d columns but the weight expects %d", x->d, W->d);
    nn_check(!b || (b->n == 1 && b->d == W->n), "linear: bias must be 1x%d", W->n);
    nn_check(ln_w->n * ln_w->d == W->n && ln_b->n * ln_b->d == W->n, "layernorm: affine parameters must have %d values",
             W->n);
    int N = x->n, OC = W->n;
    size_t bytes = sizeof(float) * (size_t)N * OC;
    float *h = nn_graph_alloc(g, bytes), *ln = nn_graph_alloc(g, bytes);
    float *mean = nn_graph_alloc(g, sizeof(float) * N), *rstd = nn_graph_alloc(g, sizeof(float) * N);
    nn_tensor *y = nn_tensor_new(g, N, OC, 0);
    linear_forward(h, x->x, W->x, b ? b->x : NULL, N, x->d, OC);
    layernorm_act_forward(y->x, ln, mean, rstd, h, ln_w->x, ln_b->x, N, OC, act, group);
    int need = x->requires_grad || W->requires_grad || (b && b->requires_grad) || ln_w->requires_grad ||
               ln_b->requires_grad;
    nn_node *nd = push_node(g, y, linear_norm_act_bwd, need);
    if (nd) {
        nd->list = nn_graph_alloc(g, sizeof(nn_tensor *) * 5);
        nn_tensor *l[5] = {x, W, b, ln_w, ln_b};
        memcpy(nd->list, l, sizeof l);
        float *aux[4] = {h, ln, mean, rstd};
        memcpy(nd->aux, aux, sizeof aux);
        nd->k = (int)act;
        nd->s = (float)group;
    }
    return y;
}

// ---------------------------------------------------------------------------------------------
// elementwise maps

static void act_bwd(nn_graph *g, nn_node *nd) {
    act_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->in[0]->x, nd->out->x, numel(nd->out), (nn_act)nd->k);
}

nn_tensor *nn_activation(nn_graph *g, nn_tensor *x, nn_act act) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    act_forward(y->x, x->x, numel(x), act);
    nn_node *nd = record(g, y, act_bwd, x, NULL, NULL);
    if (nd) nd->k = (int)act;
    return y;
}

static void symlog_bwd(nn_graph *g, nn_node *nd) {
    symlog_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->in[0]->x, numel(nd->out));
}

nn_tensor *nn_symlog(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    symlog_forward(y->x, x->x, numel(x));
    record(g, y, symlog_bwd, x, NULL, NULL);
    return y;
}

static void symexp_bwd(nn_graph *g, nn_node *nd) {
    symexp_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->in[0]->x, numel(nd->out));
}

nn_tensor *nn_symexp(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    symexp_forward(y->x, x->x, numel(x));
    record(g, y, symexp_bwd, x, NULL, NULL);
    return y;
}

// ---------------------------------------------------------------------------------------------
// softmax family

static void softmax_bwd(nn_graph *g, nn_node *nd) {
    softmax_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->out->x, nd->out->n * (nd->out->d / nd->k), nd->k);
}

nn_tensor *nn_softmax(nn_graph *g, nn_tensor *x) { return nn_simnorm(g, x, x->d); }

nn_tensor *nn_simnorm(nn_graph *g, nn_tensor *x, int group) {
    nn_check(group > 0 && x->d % group == 0, "simnorm: width %d is not a multiple of the group size %d", x->d, group);
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    simnorm_forward(y->x, x->x, x->n, x->d, group);
    nn_node *nd = record(g, y, softmax_bwd, x, NULL, NULL);
    if (nd) nd->k = group;
    return y;
}

static void log_softmax_bwd(nn_graph *g, nn_node *nd) {
    log_softmax_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->out->x, nd->out->n, nd->out->d);
}

nn_tensor *nn_log_softmax(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    log_softmax_forward(y->x, x->x, x->n, x->d);
    record(g, y, log_softmax_bwd, x, NULL, NULL);
    return y;
}

// ---------------------------------------------------------------------------------------------
// two-hot

static void two_hot_bwd(nn_graph *g, nn_node *nd) {
    two_hot_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->in[0]->x, nd->in[0]->n, nd->bins);
}

nn_tensor *nn_two_hot(nn_graph *g, nn_tensor *x, nn_bins bins) {
    nn_check(x->d == 1, "two_hot: input must be one column, got %d", x->d);
    nn_tensor *y = nn_tensor_new(g, x->n, bins.nb, 0);
    two_hot_forward(y->x, x->x, x->n, bins);
    nn_node *nd = record(g, y, two_hot_bwd, x, NULL, NULL);
    if (nd) nd->bins = bins;
    return y;
}

static void two_hot_expect_bwd(nn_graph *g, nn_node *nd) {
    two_hot_expect_backward(nn_grad(g, nd->in[0]), nd->out->g, nd->aux[0], nd->out->x, nd->out->n, nd->bins);
}

nn_tensor *nn_two_hot_expect(nn_graph *g, nn_tensor *logits, nn_bins bins) {
    nn_check(logits->d == bins.nb, "two_hot_expect: %d logits but %d bins", logits->d, bins.nb);
    nn_tensor *y = nn_tensor_new(g, logits->n, 1, 0);
    float *prob = nn_graph_alloc(g, sizeof(float) * numel(logits));
    two_hot_expect_forward(y->x, prob, logits->x, logits->n, bins);
    nn_node *nd = record(g, y, two_hot_expect_bwd, logits, NULL, NULL);
    if (nd) {
        nd->aux[0] = prob;
        nd->bins = bins;
    }
    return y;
}

nn_tensor *nn_two_hot_inv(nn_graph *g, nn_tensor *logits, nn_bins bins) {
    return nn_symexp(g, nn_two_hot_expect(g, logits, bins));
}

// ---------------------------------------------------------------------------------------------
// losses

static void soft_ce_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *l = nd->in[0], *t = nd->in[1];
    soft_ce_backward(grad_if(g, l), grad_if(g, t), nd->out->g, nd->aux[0], t->x, l->n, l->d);
}

nn_tensor *nn_soft_ce(nn_graph *g, nn_tensor *logits, nn_tensor *target) {
    check_same("soft_ce", logits, target);
    nn_tensor *y = nn_tensor_new(g, logits->n, 1, 0);
    float *logp = nn_graph_alloc(g, sizeof(float) * numel(logits));
    soft_ce_forward(y->x, logp, logits->x, target->x, logits->n, logits->d);
    nn_node *nd = record(g, y, soft_ce_bwd, logits, target, NULL);
    if (nd) nd->aux[0] = logp;
    return y;
}

static void mse_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *a = nd->in[0], *b = nd->in[1];
    mse_backward(grad_if(g, a), grad_if(g, b), nd->out->g, a->x, b->x, a->n, a->d);
}

nn_tensor *nn_mse(nn_graph *g, nn_tensor *a, nn_tensor *b) {
    check_same("mse", a, b);
    nn_tensor *y = nn_tensor_new(g, a->n, 1, 0);
    mse_forward(y->x, a->x, b->x, a->n, a->d);
    record(g, y, mse_bwd, a, b, NULL);
    return y;
}

// ---------------------------------------------------------------------------------------------
// concat and split (along columns)

static void concat_bwd(nn_graph *g, nn_node *nd) {
    int off = 0, n = nd->out->n, D = nd->out->d;
    for (int i = 0; i < nd->k; i++) {
        nn_tensor *x = nd->list[i];
        if (x->requires_grad) {
            float *dx = nn_grad(g, x);
            const float *dy = nd->out->g;
            #pragma omp parallel for schedule(static) if ((size_t)n * x->d >= 65536)
            for (int r = 0; r < n; r++)
                for (int c = 0; c < x->d; c++) dx[(size_t)r * x->d + c] += dy[(size_t)r * D + off + c];
        }
        off += x->d;
    }
}

nn_tensor *nn_concat(nn_graph *g, nn_tensor **xs, int k) {
    int D = 0, need = 0;
    for (int i = 0; i < k; i++) {
        nn_check(xs[i]->n == xs[0]->n, "concat: input %d has %d rows, input 0 has %d", i, xs[i]->n, xs[0]->n);
        D += xs[i]->d;
        need |= xs[i]->requires_grad;
    }
    nn_tensor *y = nn_tensor_new(g, xs[0]->n, D, 0);
    #pragma omp parallel for schedule(static) if ((size_t)y->n * D >= 65536)
    for (int r = 0; r < y->n; r++)
        for (int i = 0, off = 0; i < k; i++) {
            memcpy(y->x + (size_t)r * D + off, xs[i]->x + (size_t)r * xs[i]->d, sizeof(float) * xs[i]->d);
            off += xs[i]->d;
        }
    nn_node *nd = push_node(g, y, concat_bwd, need);
    if (nd) {
        nd->list = nn_graph_alloc(g, sizeof(nn_tensor *) * k);
        memcpy(nd->list, xs, sizeof(nn_tensor *) * k);
        nd->k = k;
    }
    return y;
}

static void split_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *x = nd->in[0], *y = nd->out;
    float *dx = nn_grad(g, x);
    for (int r = 0; r < y->n; r++)
        for (int c = 0; c < y->d; c++) dx[(size_t)r * x->d + nd->k + c] += y->g[(size_t)r * y->d + c];
}

nn_tensor *nn_split(nn_graph *g, nn_tensor *x, int off, int width) {
    nn_check(off >= 0 && width > 0 && off + width <= x->d, "split: columns [%d, %d) outside a tensor of %d",
             off, off + width, x->d);
    nn_tensor *y = nn_tensor_new(g, x->n, width, 0);
    for (int r = 0; r < x->n; r++)
        memcpy(y->x + (size_t)r * width, x->x + (size_t)r * x->d + off, sizeof(float) * width);
    nn_node *nd = record(g, y, split_bwd, x, NULL, NULL);
    if (nd) nd->k = off;
    return y;
}

static void rows_bwd(nn_graph *g, nn_node *nd) {
    float *dx = nn_grad(g, nd->in[0]) + (size_t)nd->k * nd->in[0]->d;
    for (size_t i = 0; i < numel(nd->out); i++) dx[i] += nd->out->g[i];
}

nn_tensor *nn_rows(nn_graph *g, nn_tensor *x, int r0, int n) {
    nn_check(r0 >= 0 && n > 0 && r0 + n <= x->n, "rows: [%d, %d) outside a tensor of %d rows", r0, r0 + n, x->n);
    nn_tensor *y = nn_graph_alloc(g, sizeof *y);
    *y = (nn_tensor){.x = x->x + (size_t)r0 * x->d, .n = n, .d = x->d};
    nn_node *nd = record(g, y, rows_bwd, x, NULL, NULL);
    if (nd) nd->k = r0;
    return y;
}

// ---------------------------------------------------------------------------------------------
// arithmetic with broadcasting of the second operand

enum { ARITH_ADD, ARITH_SUB, ARITH_MUL };

// index of b's element that pairs with a's element (r, c)
static inline size_t bidx(const nn_tensor *b, int r, int c) {
    return (size_t)(b->n == 1 ? 0 : r) * b->d + (b->d == 1 ? 0 : c);
}

static void arith_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    float *da = grad_if(g, a), *db = grad_if(g, b);
    for (int r = 0; r < y->n; r++)
        for (int c = 0; c < y->d; c++) {
            size_t i = (size_t)r * y->d + c, j = bidx(b, r, c);
            float dy = y->g[i];
            switch (nd->k) {
            case ARITH_ADD:
                if (da) da[i] += dy;
                if (db) db[j] += dy;
                break;
            case ARITH_SUB:
                if (da) da[i] += dy;
                if (db) db[j] -= dy;
                break;
            default:
                if (da) da[i] += dy * b->x[j];
                if (db) db[j] += dy * a->x[i];
                break;
            }
        }
}

static nn_tensor *arith(nn_graph *g, nn_tensor *a, nn_tensor *b, int kind) {
    nn_check((b->n == a->n || b->n == 1) && (b->d == a->d || b->d == 1),
             "elementwise op: (%d, %d) does not broadcast to (%d, %d)", b->n, b->d, a->n, a->d);
    nn_tensor *y = nn_tensor_new(g, a->n, a->d, 0);
    for (int r = 0; r < a->n; r++)
        for (int c = 0; c < a->d; c++) {
            size_t i = (size_t)r * a->d + c;
            float bv = b->x[bidx(b, r, c)];
            y->x[i] = kind == ARITH_ADD ? a->x[i] + bv : kind == ARITH_SUB ? a->x[i] - bv : a->x[i] * bv;
        }
    nn_node *nd = record(g, y, arith_bwd, a, b, NULL);
    if (nd) nd->k = kind;
    return y;
}

nn_tensor *nn_add(nn_graph *g, nn_tensor *a, nn_tensor *b) { return arith(g, a, b, ARITH_ADD); }
nn_tensor *nn_sub(nn_graph *g, nn_tensor *a, nn_tensor *b) { return arith(g, a, b, ARITH_SUB); }
nn_tensor *nn_mul(nn_graph *g, nn_tensor *a, nn_tensor *b) { return arith(g, a, b, ARITH_MUL); }

static void scale_bwd(nn_graph *g, nn_node *nd) {
    float *dx = nn_grad(g, nd->in[0]);
    for (size_t i = 0; i < numel(nd->out); i++) dx[i] += nd->s * nd->out->g[i];
}

nn_tensor *nn_scale(nn_graph *g, nn_tensor *x, float s) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    for (size_t i = 0; i < numel(x); i++) y->x[i] = s * x->x[i];
    nn_node *nd = record(g, y, scale_bwd, x, NULL, NULL);
    if (nd) nd->s = s;
    return y;
}

static void clamp_bwd(nn_graph *g, nn_node *nd) {
    float *dx = nn_grad(g, nd->in[0]);
    const float *x = nd->in[0]->x;
    for (size_t i = 0; i < numel(nd->out); i++)
        if (x[i] >= nd->lo && x[i] <= nd->hi) dx[i] += nd->out->g[i];
}

nn_tensor *nn_clamp(nn_graph *g, nn_tensor *x, float lo, float hi) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    for (size_t i = 0; i < numel(x); i++) y->x[i] = x->x[i] < lo ? lo : x->x[i] > hi ? hi : x->x[i];
    nn_node *nd = record(g, y, clamp_bwd, x, NULL, NULL);
    if (nd) {
        nd->lo = lo;
        nd->hi = hi;
    }
    return y;
}

static void mean_bwd(nn_graph *g, nn_node *nd) {
    float *dx = nn_grad(g, nd->in[0]);
    size_t n = numel(nd->in[0]);
    float d = nd->out->g[0] / (float)n;
    for (size_t i = 0; i < n; i++) dx[i] += d;
}

nn_tensor *nn_mean(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, 1, 1, 0);
    double s = 0.0;
    for (size_t i = 0; i < numel(x); i++) s += x->x[i];
    y->x[0] = (float)(s / (double)numel(x));
    record(g, y, mean_bwd, x, NULL, NULL);
    return y;
}

static void sum_cols_bwd(nn_graph *g, nn_node *nd) {
    nn_tensor *x = nd->in[0];
    float *dx = nn_grad(g, x);
    for (int r = 0; r < x->n; r++)
        for (int c = 0; c < x->d; c++) dx[(size_t)r * x->d + c] += nd->out->g[r];
}

nn_tensor *nn_sum_cols(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, x->n, 1, 0);
    for (int r = 0; r < x->n; r++) {
        float s = 0.0f;
        for (int c = 0; c < x->d; c++) s += x->x[(size_t)r * x->d + c];
        y->x[r] = s;
    }
    record(g, y, sum_cols_bwd, x, NULL, NULL);
    return y;
}

static void exp_bwd(nn_graph *g, nn_node *nd) {
    float *dx = nn_grad(g, nd->in[0]);
    for (size_t i = 0; i < numel(nd->out); i++) dx[i] += nd->out->g[i] * nd->out->x[i];
}

nn_tensor *nn_exp(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_tensor_new(g, x->n, x->d, 0);
    for (size_t i = 0; i < numel(x); i++) y->x[i] = expf(x->x[i]);
    record(g, y, exp_bwd, x, NULL, NULL);
    return y;
}

static void custom_bwd(nn_graph *g, nn_node *nd) { nd->custom(g, nd->ctx, nd->out, nd->list); }

nn_tensor *nn_custom(nn_graph *g, int n, int d, nn_tensor **in, int k, nn_custom_backward backward, void *ctx) {
    nn_check(k >= 0, "nn_custom: %d inputs", k);
    int need = 0;
    for (int i = 0; i < k; i++) need |= in[i]->requires_grad;
    nn_tensor *y = nn_tensor_new(g, n, d, 0);
    nn_node *nd = push_node(g, y, custom_bwd, need);
    if (nd) {
        // the inputs, any number of them, in the graph's arena (as concat's)
        nd->list = nn_graph_alloc(g, sizeof(nn_tensor *) * (k ? k : 1));
        if (k) memcpy(nd->list, in, sizeof(nn_tensor *) * k);
        nd->k = k;
        nd->custom = backward;
        nd->ctx = ctx;
    }
    return y;
}

nn_tensor *nn_detach(nn_graph *g, nn_tensor *x) {
    nn_tensor *y = nn_graph_alloc(g, sizeof *y);
    *y = *x;
    y->g = NULL;
    y->requires_grad = 0;
    return y;
}

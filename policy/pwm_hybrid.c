// --gradient hybrid: PWM's actor loss with the forward pass in the real environments and the
// backward pass through the world model's Jacobians at the encoded real states (as DMO, arXiv
// 2509.00215), and its check against differences of its own surrogate loss (docs/pwm.md,
// "--gradient hybrid").
//
// Per step k (N lock-step environments, values in the comments, sg() = stop-gradient):
//   z_k           enc(o_k): z_0 a constant; then the straight-through latent below, or after a
//                 reset the constant enc(o_reset) (the chain is cut)
//   a_k           tanh(μ(sg z_k) + σ·ε_k), PWM's noise stream; the real environments step with it
//   ẑ_{k+1}       d(z_k, a_k), the model's dynamics (gradient to z_k and a_k)
//   z_end         ẑ_{k+1} + sg(enc(o′_{k+1}) − ẑ_{k+1}), o′ the observation the step produced (the
//                 final one of an episode that ended): value real, gradient the model's
//   r_k           R(z_k, sg a_k) + sg(r̃_k − R(z_k, sg a_k)) + Σ_j D_kj·(a_kj − sg a_kj):
//                 value r̃_k, the real reward normalised by rew_rms; ∂/∂z_k the model's reward head;
//                 ∂/∂a_k the task's exact D = ∂r̃/∂r · ∂r/∂a (env drda, times 1/√(var + eps) where
//                 the normaliser's clamp is inactive, 0 where it is active)
//   bootstrap     min_j V_j(z_end), through the critics at the encoded real state
// Segments, discounts, ends and the return normalisation are PWM's (pwm_close_weights).
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "pwm_internal.h"

// What the check holds fixed: everything a window puts under sg(), recorded by one window and
// replayed by the next ones (H × N (× Z or A), step-major). The trace holds the actor's inputs,
// the actions (the values inside sg()), D, the real rewards and ends.
typedef struct {
    int replay;             // 0: record; 1: replay (no environments, no backward pass)
    float *z0;              // N × Z: enc(o_0)
    float *offr;            // r̃_k − R(z_k, sg a_k)
    float *offz;            // enc(o′_{k+1}) − ẑ_{k+1}
    float *zreset;          // enc(o_reset) where an episode ended (else unused)
    pwm_hybrid_trace tr;
} hyb_tape;

// a straight-through node: values val, the gradient passed to m unchanged; with an action input a
// (out N × 1, a N × A) also Σ_j D_ij·(a_ij − sg a_ij), whose value is 0 (the caller's val holds
// it when it is not) and whose gradient to a is D
typedef struct {
    const float *D;
    int A;
} st_ctx;

static void straight_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    st_ctx *c = vctx;
    if (in[0]->requires_grad) {
        float *gm = nn_grad(g, in[0]);
        for (int i = 0; i < out->n * out->d; i++) gm[i] += out->g[i];
    }
    if (c->D && in[1]->requires_grad) {
        float *ga = nn_grad(g, in[1]);
        for (int i = 0; i < out->n; i++)
            for (int j = 0; j < c->A; j++) ga[(size_t)i * c->A + j] += out->g[i] * c->D[(size_t)i * c->A + j];
    }
}

static nn_tensor *straight(nn_graph *g, nn_tensor *m, const float *val, nn_tensor *a, const float *D) {
    st_ctx *c = nn_graph_alloc(g, sizeof(st_ctx));
    *c = (st_ctx){D, a ? a->d : 0};
    nn_tensor *in[2] = {m, a};
    nn_tensor *out = nn_custom(g, m->n, m->d, in, a ? 2 : 1, straight_bwd, c);
    memcpy(out->x, val, sizeof(float) * m->n * m->d);
    return out;
}

// the real rewards of the last step normalised as the model's, r̃ = clamp((r − μ)/σ) (μ only without
// scale_only), and D = ∂r̃/∂a = drda/σ where the clamp is inactive
static void real_rewards(const pwm *s, float *rn, float *D) {
    const nn_rms *r = &s->rew_rms;
    const env_batch *e = s->L.e;
    float inv = 1.0f / sqrtf(r->var[0] + r->eps);
    for (int i = 0; i < s->L.N; i++) rn[i] = (float)e->rew[i];
    nn_rms_normalize(r, rn, rn, s->L.N);
    for (int i = 0; i < s->L.N; i++) {
        float y = ((float)e->rew[i] - (r->scale_only ? 0.0f : r->mean[0])) * inv;
        float d = r->clip > 0 && (y < -r->clip || y > r->clip) ? 0.0f : inv;
        for (int j = 0; j < s->L.A; j++) D[(size_t)i * s->L.A + j] = d * (float)e->drda[(size_t)i * s->L.A + j];
    }
}

// the window; tp NULL (training), recording, or replaying (then no environment steps, no backward)
static float window(pwm *s, hyb_tape *tp) {
    int N = s->L.N, H = s->L.H, A = s->L.A, Z = s->Z, orig = s->c.reproduce_original;
    int rec = tp && !tp->replay, rep = tp && tp->replay;
    double gamma = s->c.gamma, gam[N], t0 = nn_now();
    float col[N], coef[N], keep[N], rk[N], rn[N], val[N];
    nn_graph *g = s->L.g;
    env_batch *e = s->L.e;
    nn_rng noise;
    pwm_window_begin(s, &noise);
    nn_tensor *z = rep ? nn_tensor_from(g, tp->z0, N, Z, 0) : pwm_encode_obs(s, e->obs);
    if (rec) memcpy(tp->z0, z->x, sizeof(float) * N * Z);
    nn_tensor *R = nn_tensor_new(g, N, 1, 0), *L = nn_tensor_new(g, N, 1, 0);
    memset(R->x, 0, sizeof(float) * N), memset(L->x, 0, sizeof(float) * N);
    for (int i = 0; i < N; i++) gam[i] = 1.0;
    for (int k = 0; k < H; k++) {
        int last = k == H - 1;
        size_t kz = (size_t)k * N * Z, ka = (size_t)k * N * A, kn = (size_t)k * N;
        memcpy(s->L.xbuf + kz, z->x, sizeof(float) * N * Z);
        if (rec) memcpy(tp->tr.latent + kz, z->x, sizeof(float) * N * Z);
        for (int i = 0; i < N * A; i++) s->L.eps[i] = nn_rng_normal(&noise);
        nn_tensor *zin = rep ? nn_tensor_from(g, tp->tr.latent + kz, N, Z, 0) : nn_detach(g, z);
        nn_tensor *a = actor_forward(g, &s->L.act, zin, s->L.eps);
        nn_tensor *asg = rep ? nn_tensor_from(g, tp->tr.act + ka, N, A, 0) : nn_detach(g, a);
        nn_tensor *rm = wm_reward(g, &s->w, z, asg, NULL);
        nn_tensor *zhat = wm_dynamics(g, &s->w, z, a, NULL);
        s->L.t_actor += nn_now() - t0;
        t0 = nn_now();
        // the real step (or its record): ends, normalised rewards, D, the next observations' latents
        const unsigned char *term, *trunc;
        float *D = rep ? tp->tr.drda + ka : nn_graph_alloc(g, sizeof(float) * N * A);
        nn_tensor *zn, *zr = NULL;
        if (rep) {
            term = tp->tr.term + kn, trunc = tp->tr.trunc + kn;
            // r = R(z, a_rec) + offset + D·(a − a_rec): the action term's value is no longer 0
            for (int i = 0; i < N; i++) {
                double lin = 0;
                for (int j = 0; j < A; j++) {
                    size_t q = (size_t)i * A + j;
                    lin += (double)D[q] * (a->x[q] - asg->x[q]);
                }
                val[i] = (float)(rm->x[i] + tp->offr[kn + i] + lin);
            }
            zn = nn_tensor_new(g, N, Z, 0);
            for (int i = 0; i < N * Z; i++) zn->x[i] = zhat->x[i] + tp->offz[kz + i];
            zr = nn_tensor_from(g, tp->zreset + kz, N, Z, 0);
        } else {
            pwm_env_step(s, a->x);
            term = e->term, trunc = e->trunc;
            real_rewards(s, rn, D);
            memcpy(val, rn, sizeof val);
            zn = pwm_encode_obs(s, e->obs_final);
        }
        s->t_env += nn_now() - t0;
        t0 = nn_now();
        int any_done = 0;
        for (int i = 0; i < N; i++) any_done |= term[i] || trunc[i];
        if (!rep && any_done) zr = pwm_encode_obs(s, e->obs);
        if (rec) {
            memcpy(tp->tr.act + ka, a->x, sizeof(float) * N * A);
            memcpy(tp->tr.rew + kn, rn, sizeof(float) * N);
            memcpy(tp->tr.term + kn, term, N), memcpy(tp->tr.trunc + kn, trunc, N);
            memcpy(tp->tr.drda + ka, D, sizeof(float) * N * A);
            for (int i = 0; i < N; i++) tp->offr[kn + i] = rn[i] - rm->x[i];
            for (int i = 0; i < N * Z; i++) tp->offz[kz + i] = zn->x[i] - zhat->x[i];
            if (zr) memcpy(tp->zreset + kz, zr->x, sizeof(float) * N * Z);
        }
        nn_tensor *r = straight(g, rm, val, a, D);
        nn_tensor *zend = straight(g, zhat, zn->x, NULL, NULL);
        nn_tensor *v = lrn_min_value(&s->L, zend);
        if (rec) memcpy(tp->tr.value + kn, v->x, sizeof(float) * N);
        // R += γ^k·r per segment; a segment closes at an episode end or the window's end with
        // −(R + γ^len·V(z_end)): V = 0 after a termination
        for (int i = 0; i < N; i++) col[i] = (float)gam[i];
        R = nn_add(g, R, nn_mul(g, r, nn_tensor_from(g, col, N, 1, 0)));
        pwm_close_weights(N, last, gamma, gam, term, trunc, orig, col, rk, coef);
        // the critics learn from the real trajectory (as --critic-data real): z_k, r̃_k, V(z_end)
        for (int i = 0; i < N; i++) {
            int done = term[i] || trunc[i];
            s->L.rew_buf[kn + i] = val[i];
            s->L.done_buf[kn + i] = pwm_done_flag(done, last, 0, orig);
            s->L.next_val[kn + i] = term[i] ? 0.0f : v->x[i];
            keep[i] = done ? 0.0f : 1.0f;
            gam[i] = done ? 1.0 : gam[i] * gamma;
            if (done && !rep) lrn_recent_add(&s->L.pr.recent, e->ret_final[i]);
        }
        pwm_segment_close(s, &R, &L, v, col, rk, coef, keep);
        // an environment that finished restarts from the constant enc(o_reset): the chain is cut
        if (!last) z = any_done ? pwm_restart(s, zend, zr, keep) : zend;
    }
    float scale;
    nn_tensor *loss = pwm_return_loss(s, L, &scale);
    if (rec) tp->tr.loss = loss->x[0], tp->tr.ret_scale = scale;
    s->L.t_actor += nn_now() - t0;
    t0 = nn_now();
    if (!rep) {
        nn_params_zero_grad(&s->L.ap);
        nn_backward(g, loss);
    }
    s->L.t_backward += nn_now() - t0;
    nn_params_set_frozen(&s->L.cp, 0);
    return loss->x[0];
}

float pwm_hybrid_window(pwm *s) { return window(s, NULL); }

// ---------------------------------------------------------------------------------------------
// the first window of a fresh learner, and the gradient check

void pwm_hybrid_trace_free(pwm_hybrid_trace *t) {
    nn_free(t->latent), nn_free(t->act), nn_free(t->rew), nn_free(t->drda), nn_free(t->value), nn_free(t->term);
    nn_free(t->trunc), nn_free(t->grad);
    memset(t, 0, sizeof *t);
}

static void tape_free(hyb_tape *tp) {
    nn_free(tp->z0), nn_free(tp->offr), nn_free(tp->offz), nn_free(tp->zreset);
    pwm_hybrid_trace_free(&tp->tr);
}

// a fresh learner of config c (as --gradient hybrid) and its first window, recorded into tp; NULL
// with a message (tp then empty)
static pwm *first_window(const pwm_config *c, hyb_tape *tp, int freeze_ret, char *err, size_t errlen) {
    pwm_config hc = *c;
    hc.gradient = PWM_GRADIENT_HYBRID;
    memset(tp, 0, sizeof *tp);
    lrn_setup setup = {.threads = 1};
    lrn_learner *L = pwm_make(&hc, &setup, err, errlen);
    if (!L) return NULL;
    pwm *s = L->src_state;
    size_t N = (size_t)s->L.N, hn = (size_t)s->L.H * N, Z = (size_t)s->Z, A = (size_t)s->L.A;
    tp->z0 = nn_malloc(sizeof(float) * N * Z);
    tp->offz = nn_malloc(sizeof(float) * hn * Z);
    tp->zreset = nn_malloc(sizeof(float) * hn * Z);  // zero-filled
    tp->offr = nn_malloc(sizeof(float) * hn);
    tp->tr = (pwm_hybrid_trace){.N = s->L.N, .H = s->L.H, .A = s->L.A, .Z = s->Z, .latent = nn_malloc(sizeof(float) * hn * Z),
                                .act = nn_malloc(sizeof(float) * hn * A), .rew = nn_malloc(sizeof(float) * hn),
                                .drda = nn_malloc(sizeof(float) * hn * A), .value = nn_malloc(sizeof(float) * hn),
                                .term = nn_malloc(hn), .trunc = nn_malloc(hn)};
    s->L.pr.epoch = 1, s->freeze_ret = freeze_ret;
    window(s, tp);
    return s;
}

int pwm_hybrid_first_window(const pwm_config *c, pwm_hybrid_trace *t, char *err, size_t errlen) {
    hyb_tape tp;
    pwm *s = first_window(c, &tp, 0, err, errlen);
    if (s) {
        tp.tr.count = s->L.ap.count;
        tp.tr.grad = nn_malloc(sizeof(float) * s->L.ap.count);
        memcpy(tp.tr.grad, s->L.ap.grads, sizeof(float) * s->L.ap.count);
    }
    *t = tp.tr;
    memset(&tp.tr, 0, sizeof tp.tr);
    tape_free(&tp);
    if (!s) return -1;
    lrn_destroy(&s->L);
    return 0;
}

typedef struct {
    pwm *s;
    hyb_tape *tp;
} gc_ctx;

// the surrogate loss replayed with actor parameter i moved by delta
static double gc_loss(void *vctx, size_t i, double delta) {
    gc_ctx *x = vctx;
    float v = x->s->L.ap.values[i];
    x->s->L.ap.values[i] = v + (float)delta;
    double L = window(x->s, x->tp);
    x->s->L.ap.values[i] = v;
    return L;
}

int pwm_hybrid_gradcheck(const pwm_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                         size_t errlen) {
    // the return normaliser (a constant of the gradient) is held at its initial value in every pass
    hyb_tape tp;
    pwm *s = first_window(c, &tp, 1, err, errlen);
    int rc = s ? 0 : -1;
    float *grad = NULL;
    if (s) {
        grad = nn_malloc(sizeof(float) * s->L.ap.count);
        memcpy(grad, s->L.ap.grads, sizeof(float) * s->L.ap.count);
        tp.replay = 1;
        gc_ctx x = {s, &tp};
        // the replay at the recorded weights gives the recorded loss (model + offset = real, to rounding)
        double L0 = gc_loss(&x, 0, 0.0);
        if (!(fabs(L0 - tp.tr.loss) <= 1e-4 * fmax(1.0, fabs(tp.tr.loss))))
            rc = nn_err(err, errlen, "the replayed loss %.9g is not the recorded %.9g", L0, tp.tr.loss);
        else if (lrn_gradcheck(&s->L.ap, grad, samples, eps, gc_loss, &x, max_rel, rel_l2))
            rc = nn_err(err, errlen, "a replayed loss was not finite");
    }
    nn_free(grad);
    tape_free(&tp);
    if (s) lrn_destroy(&s->L);
    return rc;
}

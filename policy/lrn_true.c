// The `true` gradient source's window (SHAC's): a real rollout of the stochastic actor in the
// environments, recording the physics Jacobians; the actor loss −(Σ γ^k r_k + γ^len V′(s_end))/h
// per segment (terminations bootstrap 0, time-outs V′ of the observation before the reset) is
// backpropagated through the actor, the input map, the rewards, the observations and the recorded
// Jacobians, cut at the window's start (physics/diffstep.h).
#include <string.h>

#include "../nn/common.h"
#include "../physics/diffstep.h"
#include "lrn.h"

float lrn_true_window(lrn_learner *L, lrn_true_args *a) {
    env_batch *e = L->e;
    int N = L->N, h = L->H, O = L->O, A = L->A, D = L->D, nx = e->pm->nx;
    double gam[N], t0;
    float col[N], coef[N], keep[N];
    nn_graph *g = L->g;
    nn_graph_reset(g);
    a->t_physics = a->t_jacobians = 0;
    ph_record_begin(e->b);
    nn_tensor *x = nn_tensor_new(g, N, nx, 0);  // the window's start: a gradient cut
    memset(x->x, 0, sizeof(float) * N * nx);
    nn_tensor *R = nn_tensor_new(g, N, 1, 0), *loss = NULL;
    memset(R->x, 0, sizeof(float) * N);
    for (int i = 0; i < N; i++) gam[i] = 1.0;
    int prev_at = e->task->prev_action_obs;
    nn_tensor *obs = ph_node_observe(g, x, NULL, prev_at, NULL, O, e->obs, e->J);
    for (int k = 0; k < h; k++) {
        t0 = nn_now();
        if (a->stats) nn_rms_update(a->stats, obs->x, N);
        nn_tensor *on = lrn_input_apply(g, &a->map, obs);
        memcpy(L->xbuf + (size_t)k * N * D, on->x, sizeof(float) * N * D);
        for (int i = 0; i < N * A; i++) L->eps[i] = nn_rng_normal(a->noise);
        nn_tensor *u = actor_forward(g, &L->act, on, L->eps);
        for (int i = 0; i < N * A; i++) L->u[i] = u->x[i];
        L->t_actor += nn_now() - t0;
        // physics wall time, split by the share the Jacobians took of the environments' step time
        double tj0 = 0, ts0 = 0, tj1 = 0, ts1 = 0;
        for (int i = 0; i < N; i++) tj0 += e->b->t_jacobians[i], ts0 += e->b->t_steps[i];
        t0 = nn_now();
        env_step(e, L->u, 1);
        double dt = nn_now() - t0;
        for (int i = 0; i < N; i++) tj1 += e->b->t_jacobians[i], ts1 += e->b->t_steps[i];
        lrn_record_step(L);
        double share = ts1 > ts0 ? (tj1 - tj0) / (ts1 - ts0) : 0.0;
        L->pr.env_steps += N;
        a->t_jacobians += dt * share;
        a->t_physics += dt * (1.0 - share);
        t0 = nn_now();
        // the step's output state, the reward, the observation before any reset
        nn_tensor *xo = ph_node_step(g, e->b, k, x, u);
        nn_tensor *r = ph_node_reward(g, x, u, xo, e->rew, e->drdx, e->drda, e->drdx_post);
        nn_tensor *of = ph_node_observe(g, xo, u, prev_at, NULL, O, e->obs_final, e->J_final);
        nn_tensor *v = lrn_min_value(L, lrn_input_apply(g, &a->map, of));
        // R += γ^k·r (per environment since its last reset)
        for (int i = 0; i < N; i++) col[i] = (float)gam[i];
        R = nn_add(g, R, nn_mul(g, r, nn_tensor_from(g, col, N, 1, 0)));
        // finished environments (all at the window's end) add −(R + γ^{k+1}·bootstrap);
        // terminations bootstrap 0, time-outs V′(observation before the reset)
        int last = k == h - 1;
        for (int i = 0; i < N; i++) {
            int done = e->term[i] || e->trunc[i];
            coef[i] = (done || last) ? 1.0f : 0.0f;
            col[i] = (float)(L->c.gamma * gam[i] * (e->term[i] ? 0.0 : 1.0));
            L->rew_buf[(size_t)k * N + i] = r->x[i];
            L->done_buf[(size_t)k * N + i] = (done || last) ? 1.0f : 0.0f;
            L->next_val[(size_t)k * N + i] = e->term[i] ? 0.0f : v->x[i];
            keep[i] = done ? 0.0f : 1.0f;
            gam[i] = done ? 1.0 : gam[i] * L->c.gamma;
            if (done) lrn_recent_add(&L->pr.recent, e->ret_final[i]);
        }
        nn_tensor *term = nn_add(g, R, nn_mul(g, v, nn_tensor_from(g, col, N, 1, 0)));
        nn_tensor *lk = nn_scale(g, nn_mean(g, nn_mul(g, term, nn_tensor_from(g, coef, N, 1, 0))), -1.0f / (float)h);
        loss = loss ? nn_add(g, loss, lk) : lk;
        R = nn_mul(g, R, nn_tensor_from(g, keep, N, 1, 0));
        // the next step starts from the output state, except where the physics layer recorded a
        // cut (every reset: terminations, time-outs and blow-ups), whose previous action is zero
        if (!last) {
            const unsigned char *cut;
            x = ph_node_cut(g, e->b, k, xo, &cut);
            obs = ph_node_observe(g, x, u, prev_at, cut, O, e->obs, e->J);
        }
        L->t_actor += nn_now() - t0;
    }
    t0 = nn_now();
    nn_params_zero_grad(&L->ap);
    nn_backward(g, loss);
    L->t_backward += nn_now() - t0;
    return loss->x[0];
}

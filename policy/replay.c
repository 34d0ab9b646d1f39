#include "replay.h"

#include <string.h>

#include "../nn/common.h"

void replay_init(replay *r, long capacity) {
    memset(r, 0, sizeof *r);
    r->capacity = capacity;
}

static void drop_episode(replay *r, int i) {
    if (r->owned[i]) {
        ds_episode_free((ds_episode *)r->eps[i]);
        nn_free((void *)r->eps[i]);
    }
}

void replay_free(replay *r) {
    for (int i = 0; i < r->n; i++) drop_episode(r, i);
    for (int i = 0; i < r->ndata; i++) ds_free(&r->data[i]);
    nn_free(r->eps), nn_free(r->owned);
    memset(r, 0, sizeof *r);
}

void replay_push(replay *r, const ds_episode *ep, int owned) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        const ds_episode **ne = nn_malloc(sizeof *ne * r->cap);
        unsigned char *no = nn_malloc((size_t)r->cap);
        if (r->n) memcpy(ne, r->eps, sizeof *ne * r->n), memcpy(no, r->owned, (size_t)r->n);
        nn_free(r->eps), nn_free(r->owned);
        r->eps = ne, r->owned = no;
    }
    r->eps[r->n] = ep;
    r->owned[r->n++] = (unsigned char)owned;
    r->steps += ep->T;
    // the oldest episodes leave once the buffer holds more than its capacity
    int drop = 0;
    while (r->steps > r->capacity && r->n - drop > 1) {
        r->steps -= r->eps[drop]->T;
        drop_episode(r, drop);
        drop++;
    }
    if (drop) {
        memmove(r->eps, r->eps + drop, sizeof *r->eps * (r->n - drop));
        memmove(r->owned, r->owned + drop, (size_t)(r->n - drop));
        r->n -= drop;
    }
}

void replay_push_copy(void *ctx, const ds_episode *ep) {
    ds_episode *x = nn_malloc(sizeof *x);
    ds_episode_alloc(x, ep->T, ep->obs_dim, ep->act_dim);
    memcpy(x->obs, ep->obs, sizeof(float) * (ep->T + 1) * ep->obs_dim);
    memcpy(x->act, ep->act, sizeof(float) * ep->T * ep->act_dim);
    memcpy(x->rew, ep->rew, sizeof(float) * ep->T);
    memcpy(x->term, ep->term, (size_t)ep->T);
    memcpy(x->trunc, ep->trunc, (size_t)ep->T);
    replay_push(ctx, x, 1);
}

int replay_load(replay *r, const char *dir, const char *env, int O, int A, char *err, size_t errlen) {
    nn_check(r->ndata < PWM_MAX_DATA + 1, "replay_load: more than %d datasets", PWM_MAX_DATA + 1);
    ds_dataset *d = &r->data[r->ndata];
    if (ds_load(dir, d, err, errlen)) return -1;
    r->ndata++;
    if (strcmp(d->env, env) || d->obs_dim != O || d->act_dim != A)
        return nn_err(err, errlen, "%s holds task '%s' (obs %d, act %d), not '%s' (obs %d, act %d)", dir, d->env,
                      d->obs_dim, d->act_dim, env, O, A);
    for (int k = 0; k < d->n; k++) replay_push(r, &d->eps[k], 0);
    return 0;
}

// A learner's run checkpoints: the actor, the critics and targets with their Adam states, the
// progress, then what the gradient source adds (its tensors and the rest of its exact state), so
// that --resume continues bit for bit.
#include <string.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "lrn.h"

int lrn_save(void *learner, const char *path, char *err, size_t errlen) {
    const lrn_learner *L = learner;
    st_writer *w = lrn_ckpt_writer(L->c.format, L->c.env, L->c.actor_units);
    nn_ckpt_write_params(w, "a/", &L->ap, &L->aopt);
    nn_ckpt_write_params(w, "c/", &L->cp, &L->copt);
    if (L->has_targets) nn_ckpt_write_params(w, "t/", &L->tp, NULL);
    if (L->c.actor_average > 0) nn_ckpt_write_params(w, "m/", &L->mp, NULL);
    st_writer_meta(w, "critic_units", L->c.critic_units);
    // everything else the run needs to continue bit for bit, as exact hex doubles
    strbuf b = {0};
    lrn_progress_write(&b, &L->pr);
    L->src->save(L, L->src_state, w, &b);
    return lrn_ckpt_commit(w, L->pr.epoch, &b, path, err, errlen);
}

int lrn_load(lrn_learner *L, const char *path, char *err, size_t errlen) {
    st_file f;
    const char *state, *epoch;
    if (lrn_ckpt_open(&f, path, L->c.format, L->c.what, L->c.env, &state, &epoch, err, errlen)) return -1;
    char msg[512];
    int rc = -1;
    if (nn_ckpt_check_params(&f, "a/", &L->ap, &L->aopt, msg, sizeof msg) ||
        nn_ckpt_check_params(&f, "c/", &L->cp, &L->copt, msg, sizeof msg) ||
        (L->has_targets && nn_ckpt_check_params(&f, "t/", &L->tp, NULL, msg, sizeof msg)) ||
        (L->c.actor_average > 0 && nn_ckpt_check_params(&f, "m/", &L->mp, NULL, msg, sizeof msg)) ||
        (L->c.actor_average == 0 && !strcmp(lrn_policy_prefix(&f), "m/") &&
         nn_err(msg, sizeof msg, "it holds an actor average (--actor-average), which this run does not keep")) ||
        L->src->check(L, L->src_state, &f, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s (resume with the options of the original run: see its config.txt)", path, msg);
    } else {
        // the run's counters first, into temporaries, so that a bad state changes nothing
        const char *p = state;
        lrn_progress pr = L->pr;
        int bad = !(lrn_progress_read(&p, &pr) == 0 && lrn_epoch_parse(epoch, &pr.epoch) == 0);
        if (!bad) bad = L->src->load(L, L->src_state, &f, &p, pr.epoch, err, errlen);
        if (bad > 0) {
            nn_err(err, errlen, "%s: its run state is truncated, corrupt (a value out of range) or was saved with "
                   "other options (--envs, --offline)", path);
        } else if (bad == 0) {
            nn_ckpt_read_params(&f, "a/", &L->ap, &L->aopt);
            nn_ckpt_read_params(&f, "c/", &L->cp, &L->copt);
            if (L->has_targets) nn_ckpt_read_params(&f, "t/", &L->tp, NULL);
            if (L->c.actor_average > 0) nn_ckpt_read_params(&f, "m/", &L->mp, NULL);
            L->pr = pr;
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

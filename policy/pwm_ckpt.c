// PWM's checkpoints: the actor, the critics (and target critics), the fine-tuned world model with
// its Adam state, the statistics, and the run's exact state (counters, environments, the online
// dataset's unfinished episodes), so that --resume continues bit for bit.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "pwm_internal.h"

int pwm_save_checkpoint(const pwm *s, const char *path, char *err, size_t errlen) {
    st_writer *w = lrn_ckpt_writer(PWM_CKPT_FORMAT, s->c.env, s->c.actor_units);
    nn_ckpt_write_params(w, "a/", &s->ap, &s->aopt);
    nn_ckpt_write_params(w, "c/", &s->cp, &s->copt);
    if (s->c.target_alpha > 0) nn_ckpt_write_params(w, "t/", &s->tp, NULL);
    nn_ckpt_write_rms(w, "ret_rms.", &s->ret_rms);
    wm_write(w, &s->w, &s->wopt, &s->rew_rms, 0);
    char buf[64];
    st_writer_meta(w, "critic_units", s->c.critic_units);
    snprintf(buf, sizeof buf, "%d", s->c.critics);
    st_writer_meta(w, "critics", buf);
    strbuf b = {0};
    lrn_progress_write(&b, &s->pr);
    if (s->e) lrn_env_state_write(&b, s->e);
    if (s->recording) {
        // the online dataset's next episode and every environment's unfinished one
        sb_add(&b, s->rec.next), sb_add(&b, (double)s->rec.steps), sb_add(&b, s->rec.written);
        for (int i = 0; i < s->N; i++) {
            const ds_episode *x = &s->rec.eps[i];
            sb_add(&b, x->T);
            char name[64];
            int64_t so[2] = {x->T + 1, s->O}, sa[2] = {x->T, s->A}, sr[1] = {x->T};
            snprintf(name, sizeof name, "run/ep%d.obs", i);
            st_writer_add(w, name, 2, so, x->obs);
            if (x->T) {
                snprintf(name, sizeof name, "run/ep%d.act", i);
                st_writer_add(w, name, 2, sa, x->act);
                snprintf(name, sizeof name, "run/ep%d.rew", i);
                st_writer_add(w, name, 1, sr, x->rew);
            }
        }
    }
    return lrn_ckpt_commit(w, s->pr.epoch, &b, path, err, errlen);
}

// remove the online episodes written after the checkpoint (index >= next) and reload the rest
static int restore_online(pwm *s, int next, char *err, size_t errlen) {
    char path[1200];
    for (int idx = next; idx < s->rec.next; idx++) {
        snprintf(path, sizeof path, "%s/episode-%06d.npz", s->online_dir, idx);
        if (unlink(path) && errno != ENOENT) return nn_err(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    }
    s->rec.next = next;
    if (next == 0 || s->rb.ndata > PWM_MAX_DATA) return 0;
    return replay_load(&s->rb, s->online_dir, s->c.env, s->O, s->A, err, errlen);
}

int pwm_load_checkpoint(pwm *s, const char *path, char *err, size_t errlen) {
    st_file f;
    const char *state, *epoch;
    if (lrn_ckpt_open(&f, path, PWM_CKPT_FORMAT, "PWM", s->c.env, &state, &epoch, err, errlen)) return -1;
    char msg[512];
    int rc = -1;
    if (nn_ckpt_check_params(&f, "a/", &s->ap, &s->aopt, msg, sizeof msg) ||
        nn_ckpt_check_params(&f, "c/", &s->cp, &s->copt, msg, sizeof msg) ||
        (s->c.target_alpha > 0 && nn_ckpt_check_params(&f, "t/", &s->tp, NULL, msg, sizeof msg)) ||
        nn_ckpt_check_params(&f, "wm/", &s->w.p, &s->wopt, msg, sizeof msg) ||
        nn_ckpt_check_rms(&f, "ret_rms.", &s->ret_rms, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s (resume with the options of the original run: see its config.txt)", path, msg);
    } else {
        const char *p = state;
        double rec[3] = {0};
        lrn_progress pr = s->pr;
        int ok = lrn_progress_read(&p, &pr) == 0 && lrn_epoch_parse(epoch, &pr.epoch) == 0;
        if (ok && s->e) ok = lrn_env_state_read(&p, s->e) == 0;
        if (ok && s->recording) {
            for (int i = 0; i < 3; i++) rec[i] = (double)sb_next_count(&p, &ok, INT_MAX);
            for (int i = 0; ok && i < s->N; i++) {
                ds_episode *x = &s->rec.eps[i];
                int T = (int)sb_next_count(&p, &ok, s->rec.cap - 1);
                char name[64];
                const char *parts[3] = {"obs", "act", "rew"};
                size_t sizes[3] = {(size_t)(T + 1) * s->O, (size_t)T * s->A, (size_t)T};
                float *dst[3] = {x->obs, x->act, x->rew};
                for (int j = 0; ok && j < (T ? 3 : 1); j++) {
                    snprintf(name, sizeof name, "run/ep%d.%s", i, parts[j]);
                    const st_entry *en = st_find(&f, name);
                    ok = en && T >= 0 && T < s->rec.cap && en->nbytes == sizeof(float) * sizes[j];
                    if (ok) memcpy(dst[j], st_data(&f, en), sizeof(float) * sizes[j]);
                }
                if (ok) {
                    x->T = T;
                    memset(x->term, 0, (size_t)s->rec.cap), memset(x->trunc, 0, (size_t)s->rec.cap);
                }
            }
        }
        if (!ok) {
            nn_err(err, errlen, "%s: its run state is truncated, corrupt (a value out of range) or was saved with "
                   "another --envs or --offline", path);
        } else if (!s->recording || restore_online(s, (int)rec[0], err, errlen) == 0) {
            nn_ckpt_read_params(&f, "a/", &s->ap, &s->aopt);
            nn_ckpt_read_params(&f, "c/", &s->cp, &s->copt);
            if (s->c.target_alpha > 0) nn_ckpt_read_params(&f, "t/", &s->tp, NULL);
            nn_ckpt_read_params(&f, "wm/", &s->w.p, &s->wopt);
            nn_ckpt_read_rms(&f, "ret_rms.", &s->ret_rms);
            nn_ckpt_read_rms(&f, "rew_rms.", &s->rew_rms);
            s->pr = pr;
            s->rec.steps = (long)rec[1], s->rec.written = (int)rec[2];
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

// The `model` source's part of the run checkpoints (lrn_ckpt.c writes the actor, the critics and
// the progress): the fine-tuned world model with its Adam state, the statistics, and the rest of
// the run's exact state (environments, the online dataset's unfinished episodes), so that --resume
// continues bit for bit.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "pwm_internal.h"

void pwm_ckpt_save(const lrn_learner *L, const void *src, st_writer *w, strbuf *bp) {
    const pwm *s = src;
    strbuf b = *bp;
    nn_ckpt_write_rms(w, "ret_rms.", &s->ret_rms);
    wm_write(w, &s->w, &s->wopt, &s->rew_rms, 0);
    char buf[64];
    snprintf(buf, sizeof buf, "%d", s->c.critics);
    st_writer_meta(w, "critics", buf);
    if (s->L.e) lrn_env_state_write(&b, s->L.e);
    if (s->L.recording) {
        // the online dataset's next episode and every environment's unfinished one
        sb_add(&b, s->L.rec.next), sb_add(&b, (double)s->L.rec.steps), sb_add(&b, s->L.rec.written);
        for (int i = 0; i < s->L.N; i++) {
            const ds_episode *x = &s->L.rec.eps[i];
            sb_add(&b, x->T);
            char name[64];
            int64_t so[2] = {x->T + 1, s->L.O}, sa[2] = {x->T, s->L.A}, sr[1] = {x->T};
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
    *bp = b;
}

// remove the online episodes written after the checkpoint (index >= next) and reload the rest
static int restore_online(pwm *s, int next, char *err, size_t errlen) {
    char path[1200];
    for (int idx = next; idx < s->L.rec.next; idx++) {
        snprintf(path, sizeof path, "%s/episode-%06d.npz", s->online_dir, idx);
        if (unlink(path) && errno != ENOENT) return nn_err(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    }
    s->L.rec.next = next;
    if (next == 0 || s->rb.ndata > PWM_MAX_DATA) return 0;
    return replay_load(&s->rb, s->online_dir, s->c.env, s->L.O, s->L.A, err, errlen);
}

int pwm_ckpt_check(const lrn_learner *L, const void *src, const st_file *f, char *msg, size_t n) {
    const pwm *s = src;
    return nn_ckpt_check_params(f, "wm/", &s->w.p, &s->wopt, msg, n) ||
           nn_ckpt_check_rms(f, "ret_rms.", &s->ret_rms, msg, n);
}

int pwm_ckpt_load(lrn_learner *L, void *src, const st_file *f, const char **state, long epoch, char *err, size_t n) {
    pwm *s = src;
    const char *p = *state;
    double rec[3] = {0};
    int ok = 1;
    if (s->L.e) ok = lrn_env_state_read(&p, s->L.e) == 0;
    if (ok && s->L.recording) {
        for (int i = 0; i < 3; i++) rec[i] = (double)sb_next_count(&p, &ok, INT_MAX);
        for (int i = 0; ok && i < s->L.N; i++) {
            ds_episode *x = &s->L.rec.eps[i];
            int T = (int)sb_next_count(&p, &ok, s->L.rec.cap - 1);
            char name[64];
            const char *parts[3] = {"obs", "act", "rew"};
            size_t sizes[3] = {(size_t)(T + 1) * s->L.O, (size_t)T * s->L.A, (size_t)T};
            float *dst[3] = {x->obs, x->act, x->rew};
            for (int j = 0; ok && j < (T ? 3 : 1); j++) {
                snprintf(name, sizeof name, "run/ep%d.%s", i, parts[j]);
                const st_entry *en = st_find(f, name);
                ok = en && T >= 0 && T < s->L.rec.cap && en->nbytes == sizeof(float) * sizes[j];
                if (ok) memcpy(dst[j], st_data(f, en), sizeof(float) * sizes[j]);
            }
            if (ok) {
                x->T = T;
                memset(x->term, 0, (size_t)s->L.rec.cap), memset(x->trunc, 0, (size_t)s->L.rec.cap);
            }
        }
    }
    *state = p;
    if (!ok) return 1;
    if (s->L.recording && restore_online(s, (int)rec[0], err, n)) return -1;
    nn_ckpt_read_params(f, "wm/", &s->w.p, &s->wopt);
    nn_ckpt_read_rms(f, "ret_rms.", &s->ret_rms);
    nn_ckpt_read_rms(f, "rew_rms.", &s->rew_rms);
    s->L.rec.steps = (long)rec[1], s->L.rec.written = (int)rec[2];
    lrn_truncate_csv(s->diag_path, epoch);
    return 0;
}

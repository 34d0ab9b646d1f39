// PWM's replay buffer: episodes in arrival order (the datasets' first, then the run's own), the
// oldest leaving once it holds more than its capacity in transitions (the last one always stays).
// The datasets' episodes are borrowed from the datasets it loaded; the run's own are copies it owns.
#ifndef PWM_POLICY_REPLAY_H
#define PWM_POLICY_REPLAY_H

#include "../worldmodel/dataset.h"
#include "pwm.h"

typedef struct {
    ds_dataset data[PWM_MAX_DATA + 1];  // the loaded datasets (--data, then a resumed run's own)
    int ndata;
    const ds_episode **eps;  // n episodes, the oldest first
    unsigned char *owned;    // n: eps[i] is a copy the buffer frees
    int n, cap;
    long steps, capacity;    // transitions held, and the most it keeps
} replay;

void replay_init(replay *r, long capacity);
void replay_free(replay *r);
// Append an episode (owned: the buffer frees it when it leaves); the oldest leave past the capacity.
void replay_push(replay *r, const ds_episode *ep, int owned);
// Append a copy of ep; ctx is the replay (the shape of ds_recorder's on_episode callback).
void replay_push_copy(void *ctx, const ds_episode *ep);
// Load the dataset in dir, check it holds task env (obs O, act A), and append its episodes. At most
// PWM_MAX_DATA + 1 datasets. 0, or -1 with a message.
int replay_load(replay *r, const char *dir, const char *env, int O, int A, char *err, size_t errlen);

#endif

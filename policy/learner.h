// What the two policy learners (SHAC, PWM) share: network widths, TD(λ) targets, critic fitting
// on unshuffled minibatches, deterministic evaluation in the real environments, CSV logs that a
// resumed run rewrites, and the exact run state (environments, random streams) that checkpoints
// carry as hexadecimal doubles in their metadata.
#ifndef PWM_POLICY_LEARNER_H
#define PWM_POLICY_LEARNER_H

#include <stdio.h>

#include "../envs/env.h"
#include "../nn/mlp.h"
#include "../nn/optim.h"
#include "../nn/rng.h"

#define LRN_MAX_UNITS 8
#define LRN_RECENT 20  // the training return is the mean of the last LRN_RECENT finished episodes

// "128,64,32" into units; returns the count, or -1 for a malformed list
int lrn_parse_units(const char *s, int *units);

// SHAC's TD(λ) recursion over a window of h steps for N environments (time-major h × N arrays):
// rewards, done flags (1 at episode ends and at the window's last step) and the bootstrap values
// of the next states (0 after a termination).
void lrn_td_lambda(int N, int h, double gamma, double lambda, const float *rew, const float *done,
                   const float *next_val, float *targets);

// Fit K critics (sharing params p and optimizer opt) to targets: iters passes over `batches`
// unshuffled minibatches of rows × dim inputs x; each critic's MSE averaged; non-finite gradients
// zeroed, clipped to clip. Returns the mean loss of the last pass.
double lrn_fit_critics(nn_graph *g, const nn_mlp *critics, int K, nn_params *p, nn_adam *opt, const float *x,
                       const float *targets, int rows, int dim, int iters, int batches, double clip, float lr);

// A deterministic policy: actions u (n × act_dim) for observations obs (n × obs_dim).
typedef void (*lrn_policy_fn)(void *ctx, const double *obs, int n, double *u);
// Mean and std of the policy's return over `episodes` episodes (one per environment) of task env;
// verbose prints each episode. 0, or -1 with a message.
int lrn_evaluate(const char *env, int episodes, long seed, const ph_config *physics, lrn_policy_fn policy,
                 void *ctx, double *mean, double *std, int verbose, char *err, size_t errlen);

// The recent-returns window
typedef struct {
    double v[LRN_RECENT];
    int n, i;
} lrn_recent;
void lrn_recent_add(lrn_recent *r, double v);
double lrn_recent_mean(const lrn_recent *r);  // NAN when empty

// A CSV log opened for appending (header written when new), and the rewrite a resumed run does:
// keep the header and the rows whose first column is <= last.
FILE *lrn_open_log(const char *path, const char *header);
int lrn_truncate_csv(const char *path, long last);

// exact doubles, space-separated hexadecimal, in a growing string
typedef struct {
    char *s;
    size_t len, cap;
} strbuf;
void sb_reserve(strbuf *b, size_t more);  // room for `more` further bytes and a terminating zero
void sb_add(strbuf *b, double v);
double sb_next(const char **p, int *ok);  // the next value, or NAN with *ok = 0 when missing
void sb_add_rng(strbuf *b, const nn_rng *r);
void sb_read_rng(const char **p, int *ok, nn_rng *r);

// The environments' exact state (physics, warm start, previous actions, episode counters, random
// streams). Reading parses into a temporary first: on a truncated or mismatched state it returns
// -1 and changes nothing.
void lrn_env_state_write(strbuf *b, const env_batch *e);
int lrn_env_state_read(const char **p, env_batch *e);

#endif

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
#include "../nn/safetensors.h"
#include "../opts/rundir.h"

#define LRN_MAX_UNITS 8
#define LRN_RECENT 20  // the training return is the mean of the last LRN_RECENT finished episodes
// The start states of a run's deterministic evaluations come from its seed plus these: the
// periodic ones (log.csv, --eval-episodes) LRN_EVAL_SEED, the final one (eval.csv, at least
// LRN_FINAL_EPISODES) LRN_FINAL_SEED; `pwm eval --seed` with the same sum repeats either
#define LRN_EVAL_SEED 1000000
#define LRN_FINAL_SEED 2000000
#define LRN_FINAL_EPISODES 10

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

// What a run carries from epoch to epoch besides its networks and environments
typedef struct {
    long epoch, env_steps;
    double wall, best_eval;  // wall: seconds of training so far; best_eval: the best evaluation (−inf)
    int bad_updates;         // skipped actor updates in a row
    lrn_recent recent;
} lrn_progress;

// The actor update with the explosion guard: a non-finite or > 1e6 gradient norm skips it (with
// a message from prog, counted in pr->bad_updates); otherwise clip and an Adam step. Returns the
// norm; *skipped says whether the update was skipped.
double lrn_actor_update(nn_params *p, nn_adam *opt, double clip, float lr, lrn_progress *pr, const char *prog,
                        int *skipped);

// The epoch loop both learners run: per epoch the learner's own work, then the periodic
// evaluation (best.safetensors at each new best), one row of log.csv (epoch, env steps, wall time,
// training return, eval return, then the learner's columns) and of timing.csv, the explosion
// guard's stop, checkpoints (every save_every epochs and at --stop-after), progress with an ETA;
// at the end final.safetensors and eval.csv (at least 10 deterministic episodes).
typedef struct {
    const char *prog;  // for messages: "pwm shac"
    int epochs, eval_every, save_every, stop_after, max_bad_updates, eval_episodes;
    long seed;
    const char *log_header, *timing_header;  // the learner's columns (after epoch,...,eval_return / epoch)
    // the epoch's work; its log and timing columns go into the two buffers (comma-separated)
    void (*epoch)(void *ctx, long ep, char *log_cols, char *timing_cols, size_t n);
    int (*evaluate)(void *ctx, int episodes, long seed, double *mean, double *std, char *err, size_t errlen);
    // optional (NULL: none): a second policy evaluated at the same start states each time, for a
    // learner whose evaluated policy is not the one it trains (--actor-average): its return is
    // log.csv's last column, eval_actor, and eval.csv's actor_mean_return,actor_std_return
    int (*evaluate_actor)(void *ctx, int episodes, long seed, double *mean, double *std, char *err, size_t errlen);
    int (*save)(void *ctx, const char *path, char *err, size_t errlen);
    void *ctx;
    lrn_progress *pr;
} lrn_loop;
// Run it in the run directory P (opts/rundir.h; rundir_start checked it) from pr->epoch + 1 (a resumed
// run's logs are cut back to that epoch first). SIGTERM or SIGUSR1 (nn/exitcode.h) stops it at the end
// of the current epoch, after its checkpoint. Returns an exit code: PWM_EXIT_OK; PWM_EXIT_FAIL with a
// message (logs not writable); PWM_EXIT_DIVERGED (the explosion guard stopped the run);
// PWM_EXIT_PREEMPTED (a signal asked; --resume continues).
int lrn_run(const lrn_loop *L, const rundir_files *P, int resume);

// A gradient check: the analytic gradient grad (laid out as p's values) against central differences
// in `samples` parameters spread over every tensor of p; loss(ctx, i, delta) is the loss with
// parameter i moved by delta (NAN on failure). Gives the max relative error (relative to the larger
// of the two, or 1% of the largest difference) and the relative L2 error; -1 if a loss failed.
int lrn_gradcheck(const nn_params *p, const float *grad, int samples, double eps,
                  double (*loss)(void *ctx, size_t i, double delta), void *ctx, double *max_rel, double *rel_l2);

// Standard normal noise for n × A actions in *buf (grown as needed), or NULL when r is NULL
// (the deterministic policy).
const float *lrn_noise(float **buf, int *cap, int n, int A, nn_rng *r);

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
double sb_next(const char **p, int *ok);  // the next finite value, or NAN with *ok = 0 when missing or not finite
long sb_next_count(const char **p, int *ok, long max);  // the next value, an integer in 0..max, else 0 and *ok = 0
void sb_add_rng(strbuf *b, const nn_rng *r);
void sb_read_rng(const char **p, int *ok, nn_rng *r);  // a generator's position, range-checked (*ok = 0 if not)
// A checkpoint's "epoch" metadata: a decimal in 0..INT_MAX, the whole string. 0, or -1 (nothing set).
int lrn_epoch_parse(const char *s, long *epoch);

// A policy checkpoint's task and actor widths (metadata "env", "actor_units"); env (may be NULL)
// must match. NULL with a message otherwise.
// A learner's run checkpoint, read into f: its format and task must be these; *state and *epoch
// receive its run state and epoch metadata. 0 (st_free f when done), or -1 with a message naming the
// file (what: "SHAC", "PWM", ...) and nothing to free.
int lrn_ckpt_open(st_file *f, const char *path, const char *format, const char *what, const char *env,
                  const char **state, const char **epoch, char *err, size_t errlen);
// Writing one: lrn_ckpt_writer starts the file with the metadata every learner's has first (format,
// task, the actor's widths); the learner adds its tensors and further metadata; lrn_ckpt_commit
// adds the git commit, the epoch and the run state (b's text, which it frees), seals the file,
// writes it atomically and frees w. 0, or -1 with a message.
st_writer *lrn_ckpt_writer(const char *format, const char *env, const char *actor_units);
int lrn_ckpt_commit(st_writer *w, long epoch, strbuf *b, const char *path, char *err, size_t errlen);
const env_task *lrn_policy_meta(const st_file *f, const char *ckpt, const char *env, int *units, int *n_units,
                                char *err, size_t errlen);
// The prefix of the policy's actor in a learner's checkpoint f: "m/" (the moving average of a run
// with --actor-average) when f has one, else "a/" (the actor itself).
const char *lrn_policy_prefix(const st_file *f);

// The environments' exact state (physics, warm start, previous actions, episode counters, random
// streams). Reading parses into a temporary first: on a truncated or mismatched state it returns
// -1 and changes nothing.
void lrn_env_state_write(strbuf *b, const env_batch *e);
// The progress (all but the epoch, which checkpoints keep in their metadata), the same way;
// reading fills *out only when complete.
void lrn_progress_write(strbuf *b, const lrn_progress *p);
int lrn_progress_read(const char **p, lrn_progress *out);
int lrn_env_state_read(const char **p, env_batch *e);
// One environment of the layout lrn_env_state_write keeps (qpos, qvel, act, qacc_warmstart, the
// previous action, the episode's steps): its length, and environment i of e copied into v.
size_t lrn_env_size(const env_batch *e);
void lrn_env_get(const env_batch *e, int i, double *v);
// Environment i of e put back exactly (ph_restore_state) from v, one environment of the layout
// lrn_env_state_write keeps: qpos, qvel, act, qacc_warmstart, the previous action, the episode's
// steps; its observation (and its Jacobian, where e keeps them) recomputed. The episode's return
// and random stream are the caller's.
void lrn_env_put(env_batch *e, int i, const double *v);

#endif

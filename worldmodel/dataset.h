// Offline datasets of episodes, as NumPy files.
//
// A dataset is a directory: DIR/dataset.txt ("env = NAME", "obs_dim = N", "act_dim = N",
// "format = pwm-episodes-1") and one DIR/episode-NNNNNN.npz per episode, each holding
//   obs (T+1, obs_dim) float32, action (T, act_dim) float32, reward (T,) float32,
//   terminated (T,) uint8, truncated (T,) uint8
// (numpy.load reads them; every member carries a CRC-32 the reader checks). Appending adds
// episode files; each is written atomically. terminated/truncated may only be set on the last
// step; an episode cut by the end of a collection is marked truncated.
#ifndef PWM_WORLDMODEL_DATASET_H
#define PWM_WORLDMODEL_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int T, obs_dim, act_dim;
    float *obs, *act, *rew;  // (T+1)·obs_dim, T·act_dim, T
    uint8_t *term, *trunc;   // T
} ds_episode;

typedef struct {
    char env[64];
    int obs_dim, act_dim;
    int n;               // episodes
    ds_episode *eps;
    long steps;          // transitions in all episodes
} ds_dataset;

// Open (creating it if needed) a dataset directory for appending episodes of a task; a dataset of
// another task or other sizes is refused. *next receives the next episode index.
int ds_open(const char *dir, const char *env, int obs_dim, int act_dim, int *next, char *err, size_t errlen);
// Write episode index `index` into dir (atomically). The episode must be consistent.
int ds_write(const char *dir, int index, const ds_episode *ep, char *err, size_t errlen);
// Load every episode of a dataset directory, checking each file; on any problem -1 with a message
// naming the file, and nothing loaded.
int ds_load(const char *dir, ds_dataset *d, char *err, size_t errlen);
void ds_free(ds_dataset *d);
// Append a line "key = text" to DIR/dataset.txt: how the data was made (readers skip keys they do
// not know). key is lower-case letters and underscores; text one line.
int ds_note(const char *dir, const char *key, const char *text, char *err, size_t errlen);
// An episode with room for T steps (arrays zeroed), and its release.
void ds_episode_alloc(ds_episode *ep, int T, int obs_dim, int act_dim);
void ds_episode_free(ds_episode *ep);

// Recording the episodes of N environments stepping together into a dataset directory.
typedef struct {
    const char *dir;
    int n, obs_dim, act_dim, cap, next, written;
    long steps;
    ds_episode *eps;  // one growing episode per environment
    // optional: called with each episode just written (before its buffer is reused)
    void (*on_episode)(void *ctx, const ds_episode *ep);
    void *ctx;
} ds_recorder;

// Open dir for the task (as ds_open) and start every environment's episode at obs (n × obs_dim);
// cap is the longest episode (the task's episode length).
int ds_recorder_open(ds_recorder *r, const char *dir, const char *env, int n, int obs_dim, int act_dim, int cap,
                     const double *obs, char *err, size_t errlen);
// One step of every environment: its clipped action, reward, end flags, the observation the step
// produced (before any reset) and the current one (after resets). Finished episodes are written.
int ds_recorder_step(ds_recorder *r, const double *act, const double *rew, const unsigned char *term,
                     const unsigned char *trunc, const double *obs_final, const double *obs, char *err, size_t errlen);
// Write the episodes still running as truncated, and free.
int ds_recorder_close(ds_recorder *r, char *err, size_t errlen);

#endif

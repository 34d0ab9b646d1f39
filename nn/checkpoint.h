// Model parameters, optimizer state and normaliser statistics in safetensors files.
//
// A checkpoint can hold several components, each under a name prefix ("actor.", "critic.", ...).
// Tensors keep their parameter names after the prefix; Adam's moments are stored as
// "<prefix>adam.m.<name>" and "<prefix>adam.v.<name>" with the step count in the metadata.
// Loading is all-or-nothing: check every component (nn_ckpt_check_*), then copy (nn_ckpt_read_*),
// so a truncated, corrupt or mismatched file changes nothing. The nn_params_save/load pair does
// both for a single model.
#ifndef PWM_NN_CHECKPOINT_H
#define PWM_NN_CHECKPOINT_H

#include "normalizer.h"
#include "optim.h"
#include "params.h"
#include "safetensors.h"

// Add p's values (and, when opt is non-NULL, Adam's moments and step) to a writer.
void nn_ckpt_write_params(st_writer *w, const char *prefix, const nn_params *p, const nn_adam *opt);
// Check that f holds every tensor of p under prefix with the right shape (and the Adam state if
// opt is non-NULL), and no tensor under prefix that p lacks (so the empty prefix means the file
// holds this model alone). -1 with a message naming the first
// problem and what to do.
int nn_ckpt_check_params(const st_file *f, const char *prefix, const nn_params *p, const nn_adam *opt,
                         char *err, size_t errlen);
// Copy values (and Adam state) from a checked file into p (and opt).
void nn_ckpt_read_params(const st_file *f, const char *prefix, nn_params *p, nn_adam *opt);

// The same for a running normaliser: "<prefix>mean", "<prefix>var" and the count in metadata.
void nn_ckpt_write_rms(st_writer *w, const char *prefix, const nn_rms *r);
int nn_ckpt_check_rms(const st_file *f, const char *prefix, const nn_rms *r, char *err, size_t errlen);
void nn_ckpt_read_rms(const st_file *f, const char *prefix, nn_rms *r);

// One model in one file (no prefix), written atomically; meta_kv is NULL or a NULL-terminated
// list of key, value, key, value, ... strings for the metadata.
int nn_params_save(const char *path, const nn_params *p, const nn_adam *opt, const char *const *meta_kv, char *err,
                   size_t errlen);
int nn_params_load(const char *path, nn_params *p, nn_adam *opt, char *err, size_t errlen);

#endif

// The --device option of every command that computes with the numeric core (pwm wm train, pwm
// train, pwm bench nn, pwm experiment esnr): one option-table entry and the selection that follows
// the parse. (pwm compare and pwm experiment smoothness|accuracy only pass --device to the stages
// they run.)
//
// Select after parsing and before anything allocates a model, a graph or optimizer state: while
// CUDA is selected, those come from the device arena (nn/device.h). A command selects before it
// creates or appends to its output, so a refused --device cuda leaves nothing behind.
#ifndef PWM_OPTS_DEVICE_OPT_H
#define PWM_OPTS_DEVICE_OPT_H

#include "args.h"

// The entry, bound to a const char * holding "auto", "cpu" or "cuda" (commands default to "cpu")
#define DEVICE_OPT(var)                                                                                            \
    {"device", ARG_CHOICE, &(var),                                                                                 \
     "where to compute: auto (CUDA if a GPU answers, else the CPU with a note), cpu, or cuda (the CUDA path has "  \
     "not yet run on a GPU: docs/cuda.md)", "auto|cpu|cuda", NULL}

// nn_device_select(device): 0, or 1 after "prog: message" on stderr (what is missing and what to do)
int device_opt_select(const char *device, const char *prog);

#endif

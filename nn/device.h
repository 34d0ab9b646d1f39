// Where the numeric core computes: the CPU (the reference) or the CUDA backend (nn/cuda/cuda.h).
//
// Select the device once, before any model or graph is made: while CUDA is selected, parameter
// buffers and graph arenas come from the device arena (nn_device_alloc) and every op of ops.h,
// Adam and the gradient norm run on the GPU. Without a CUDA build (nvcc absent at build time) only
// the CPU exists.
//
// The CUDA path has NOT YET RUN ON A GPU: it compiles, and its arithmetic is tested on the CPU, but
// no GPU has run `make test-cuda` yet (docs/cuda.md).
#ifndef PWM_NN_DEVICE_H
#define PWM_NN_DEVICE_H

#include <stddef.h>

typedef enum { NN_DEVICE_CPU, NN_DEVICE_CUDA } nn_device;

// Set when the CUDA device is selected; the ops check it (read it through nn_device_current).
extern int nn_cuda_active;

// Select "cpu", "cuda" or "auto" (CUDA when a GPU answers, else the CPU with a one-line note on
// stderr). Returns 0, or -1 with a message in err naming what is missing and what to do ("cuda"
// without a CUDA build, or without a GPU or driver; an unknown name).
int nn_device_select(const char *name, char *err, size_t errlen);
nn_device nn_device_current(void);
// "cpu", or "cuda (<GPU name, memory, compute capability>)".
const char *nn_device_describe(void);
// Whether this binary has the CUDA backend compiled in.
int nn_device_cuda_built(void);

// Zeroed memory on the current device (64-byte aligned on the CPU, from the device arena on
// CUDA); nn_device_free takes either kind.
void *nn_device_alloc(size_t bytes);
void nn_device_free(void *p);
// memset(p, 0, bytes) where p lives: on the GPU for the device arena (so the pages stay there)
void nn_device_zero(void *p, size_t bytes);

#endif

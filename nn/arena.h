// The bookkeeping of one fixed region handed out in pieces: offsets and sizes only, no memory of
// its own. The CUDA backend's device arena (nn/cuda/ops.cu) runs on it; being plain host code, the
// CPU test suite checks it (tests/test_kernels.c).
//
// A piece goes to the lowest gap between the live pieces that fits it, so a piece given back is
// reused by the next request of its size or less: a graph made and freed again and again (each
// evaluation's, each --diagnose-every row's) takes the same space each time, and the high-water
// mark stays where the first one left it.
#ifndef PWM_NN_ARENA_H
#define PWM_NN_ARENA_H

#include <stddef.h>

#define NN_ARENA_NONE ((size_t)-1)

typedef struct {
    size_t size, align;      // the region's bytes, and every piece's alignment (a power of two)
    size_t *off, *len;       // the live pieces, sorted by offset (len rounded up to align)
    int n, cap;
    size_t live;             // bytes in live pieces
    size_t high;             // the largest end offset any piece has had
} nn_arena;

void nn_arena_init(nn_arena *a, size_t size, size_t align);
void nn_arena_free(nn_arena *a);
// The offset of a new piece of `bytes` (rounded up to align; 0 bytes take one unit), the lowest
// gap that fits; NN_ARENA_NONE when none does.
size_t nn_arena_take(nn_arena *a, size_t bytes);
// Give back the piece at off: 0, or -1 when no live piece starts there.
int nn_arena_give(nn_arena *a, size_t off);

#endif

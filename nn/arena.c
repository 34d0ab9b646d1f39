#include "arena.h"

#include <string.h>

#include "common.h"

void nn_arena_init(nn_arena *a, size_t size, size_t align) {
    nn_check(align && !(align & (align - 1)), "arena alignment %zu is not a power of two", align);
    *a = (nn_arena){.size = size & ~(align - 1), .align = align};
}

void nn_arena_free(nn_arena *a) {
    nn_free(a->off), nn_free(a->len);
    *a = (nn_arena){0};
}

size_t nn_arena_take(nn_arena *a, size_t bytes) {
    size_t need = bytes ? (bytes + a->align - 1) & ~(a->align - 1) : a->align;
    if (need < bytes) return NN_ARENA_NONE;
    // the lowest gap: before the first piece, between two, after the last
    int at = 0;
    size_t lo = 0;
    for (; at < a->n; at++) {
        if (a->off[at] - lo >= need) break;
        lo = a->off[at] + a->len[at];
    }
    if (at == a->n && (lo > a->size || a->size - lo < need)) return NN_ARENA_NONE;
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 64;
        size_t *off = nn_malloc(sizeof *off * cap), *len = nn_malloc(sizeof *len * cap);
        if (a->n) memcpy(off, a->off, sizeof *off * a->n), memcpy(len, a->len, sizeof *len * a->n);
        nn_free(a->off), nn_free(a->len);
        a->off = off, a->len = len, a->cap = cap;
    }
    memmove(a->off + at + 1, a->off + at, sizeof *a->off * (a->n - at));
    memmove(a->len + at + 1, a->len + at, sizeof *a->len * (a->n - at));
    a->off[at] = lo, a->len[at] = need, a->n++;
    a->live += need;
    if (lo + need > a->high) a->high = lo + need;
    return lo;
}

int nn_arena_give(nn_arena *a, size_t off) {
    // binary search over the sorted offsets
    int lo = 0, hi = a->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (a->off[mid] == off) {
            a->live -= a->len[mid];
            memmove(a->off + mid, a->off + mid + 1, sizeof *a->off * (a->n - mid - 1));
            memmove(a->len + mid, a->len + mid + 1, sizeof *a->len * (a->n - mid - 1));
            a->n--;
            return 0;
        }
        if (a->off[mid] < off) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

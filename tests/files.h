// File surgery for the bad-file tests (tests/test_files.c) and the fuzz test (tests/test_fuzz.c):
// whole files as byte buffers, little-endian fields, safetensors metadata and tensor rewrites, and
// CRC repair of stored zip (.npz) members so that a mutation reaches the parsers behind the CRC.
// Every helper fails the current test when a file cannot be read or written.
#ifndef PWM_TESTS_FILES_H
#define PWM_TESTS_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "../nn/rng.h"

typedef struct {
    unsigned char *p;
    size_t n;
} files_buf;

files_buf files_load(const char *path);
void files_save(const char *path, files_buf b);
void files_free(files_buf b);
void files_copy(const char *from, const char *to);
// The first occurrence of s in b, or NULL.
char *files_find(files_buf b, const char *s);

uint16_t files_get16(const unsigned char *p);
uint32_t files_get32(const unsigned char *p);
void files_put16(unsigned char *p, uint16_t v);
void files_put32(unsigned char *p, uint32_t v);

// The safetensors file `from` into `to` with the first `old` of its JSON header replaced by `new`
// (the header length adjusted), bytes otherwise untouched: an edit that keeps any checksum.
void files_edit_header(const char *from, const char *to, const char *old, const char *new_text);
// Rewrite the safetensors file `from` into `to` with metadata key set to value (NULL: removed);
// the rewrite is not sealed (st_read drops the seal).
void files_set_meta(const char *from, const char *to, const char *key, const char *value);
// ... with token k (0-based, space-separated) of the "state" metadata replaced by value.
void files_set_state_token(const char *from, const char *to, int k, const char *value);
// ... with the first value of tensor `name` set to v.
void files_poison_tensor(const char *from, const char *to, const char *name, float v);

// A Hopper world model (obs 11, act 3, latent 16, widths `width`, the two-hot reward and a
// termination head when `heads`; unit reward statistics) saved to path.
void files_save_wm(const char *path, int width, int heads, unsigned long seed);
// wm_load of path (everything freed again): 0, or -1 with err.
int files_load_wm(const char *path, char *err, size_t n);

// A Hopper dataset in dir: `steps` control steps of 4 environments (seeded by env_seed) under
// U(−1, 1) actions drawn from r (which the caller may go on using).
void files_random_dataset(const char *dir, unsigned long env_seed, int steps, nn_rng *r);

// The pwm binary built beside this test binary (build/pwm, or build/sanitize/pwm under
// SANITIZE=1); skips the test when it is not built.
const char *files_pwm_binary(void);

// Recompute the CRC-32 of every member of a stored zip in place (local headers and directory),
// as far as the directory's offsets and sizes allow.
void files_fix_crcs(files_buf b);

#endif

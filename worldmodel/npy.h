// NumPy's .npy and .npz formats, for datasets that Python reads with numpy.load.
//
// .npy: the magic "\x93NUMPY", version 1.0, a little-endian u16 header length, a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (...), } padded with spaces to a
// 64-byte boundary and ended by '\n', then the raw C-order data.
// .npz: a zip archive of .npy members, stored uncompressed; every member carries its CRC-32,
// which the reader checks.
#ifndef PWM_WORLDMODEL_NPY_H
#define PWM_WORLDMODEL_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 4

typedef enum { NPY_F4, NPY_U1 } npy_dtype;  // float32 and uint8 (booleans)

typedef struct {
    char name[64];  // member name without ".npy"
    npy_dtype dtype;
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    const void *data;  // writer: borrowed; reader: points into the npz_file's buffer
} npy_array;

typedef struct {
    npy_array *arrays;
    int n;
    unsigned char *buf;  // the whole file
} npz_file;

// Write arrays to path as an uncompressed .npz, atomically (temp file, then rename).
int npz_write(const char *path, const npy_array *arrays, int n, char *err, size_t errlen);
// Read and check a .npz (zip structure, CRC-32 of every member, .npy headers, sizes). On any
// problem -1 with a message naming the file and what is wrong; nothing allocated.
int npz_read(const char *path, npz_file *f, char *err, size_t errlen);
void npz_free(npz_file *f);
// The member called name (without ".npy"), or NULL.
const npy_array *npz_find(const npz_file *f, const char *name);

#endif

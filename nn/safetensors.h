// Reading and writing safetensors files (float32 tensors only).
//
// Layout (HuggingFace safetensors): an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON,
// then the data section. The JSON object maps each tensor name to
//   {"dtype":"F32","shape":[d0,d1,...],"data_offsets":[begin,end]}
// (offsets relative to the start of the data section, end exclusive), plus an optional
// "__metadata__" object of string keys to string values. The reader validates everything
// (strict JSON, F32 only, offsets that tile the data section exactly) and reports problems as
// recoverable errors; the writer pads the header to 8 bytes and replaces the target atomically.
#ifndef PWM_NN_SAFETENSORS_H
#define PWM_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_NDIM 8

// One tensor of a file. Names are at most 127 bytes; a scalar has ndim 0 (one element).
typedef struct {
    char name[128];
    int ndim;
    int64_t shape[ST_MAX_NDIM];
    size_t offset, nbytes;  // byte range in st_file.data
} st_entry;

// A file read into memory. entries are in the order of the JSON header.
typedef struct {
    st_entry *entries;
    int n;
    char **meta_keys;  // "__metadata__", n_meta pairs, in header order
    char **meta_vals;
    int n_meta;
    unsigned char *data;  // the data section, 64-byte aligned, owned by the st_file
    size_t data_size;
} st_file;

// Read and fully validate the safetensors file at path into f. On any problem (missing or
// truncated file, bad JSON, a dtype other than F32, inconsistent shapes or offsets, duplicate or
// over-long names, too many dimensions) return -1 with a message in err (what is wrong, which
// file, what to do) and leave f zeroed with nothing allocated. Returns 0 on success.
int st_read(const char *path, st_file *f, char *err, size_t errlen);
// Free everything st_read allocated and zero f. Safe on a zeroed st_file.
void st_free(st_file *f);
// The entry called name, or NULL if the file has none.
const st_entry *st_find(const st_file *f, const char *name);
// The values of entry e (prod(shape) floats), pointing into f->data.
const float *st_data(const st_file *f, const st_entry *e);
// The metadata value for key, or NULL if absent.
const char *st_meta(const st_file *f, const char *key);

// A sealed file carries the CRC-32 of its contents (metadata, tensor names, shapes and data) in
// the metadata key ST_SEAL_KEY. st_read checks it when present (an edited or corrupt file is an
// error naming the file) and leaves it out of the metadata it returns; files without it (other
// writers, older checkpoints) are read unchecked.
#define ST_SEAL_KEY "pwm_crc32"

typedef struct st_writer st_writer;

// A new, empty writer.
st_writer *st_writer_new(void);
// Add a tensor. name, shape and data are borrowed until st_writer_commit returns (name and
// shape are copied right away; data is read during the commit). Tensors' data is laid out in the
// order they are added. A bad name (empty is fine; over 127 bytes, invalid UTF-8, duplicate or
// "__metadata__"), ndim outside 0..ST_MAX_NDIM, a negative dimension or NULL data for a non-empty
// tensor is remembered, and st_writer_commit then fails with a message naming it.
void st_writer_add(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data);
// Set a metadata entry (both strings are copied; a later value for the same key replaces it).
// Strings must be valid UTF-8; otherwise st_writer_commit fails.
void st_writer_meta(st_writer *w, const char *key, const char *value);
// Seal the file at commit (the checksum above; commit stays repeatable).
void st_writer_seal(st_writer *w);
// Write everything to path atomically: write "<path>.tmp.<pid>", fflush and fsync it, rename it
// over path, then fsync the directory. On failure return -1 with err set, leave any existing file
// at path untouched and remove the temporary file (the one exception: when only the final
// directory fsync fails, path already holds the new file and err says so). Returns 0 on success.
// The writer is unchanged and may be committed again.
int st_writer_commit(st_writer *w, const char *path, char *err, size_t errlen);
// Free the writer (and its copies of names and metadata). Safe on NULL.
void st_writer_free(st_writer *w);

#endif

// nn/safetensors: bit-exact round trips, the on-disk layout, and rejection of every kind of bad file.
#include "test.h"

#include <dirent.h>
#include <float.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../nn/common.h"
#include "../nn/safetensors.h"

// ---- helpers ----------------------------------------------------------------------------------

// a path in the scratch directory
static void tpath(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", test_tmpdir(), name); }

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "cannot create %s", path);
    CHECK(fwrite(p, 1, n, f) == n, "short write to %s", path);
    CHECK(fclose(f) == 0, "cannot close %s", path);
}

// the whole file (caller frees with nn_free); NULL if it cannot be opened
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = nn_malloc((size_t)len + 1);
    CHECK(fread(p, 1, (size_t)len, f) == (size_t)len, "short read of %s", path);
    fclose(f);
    *n = (size_t)len;
    return p;
}

// a file made of the 8-byte length of header, header itself, then ndata bytes of data
static void write_raw(const char *path, const char *header, size_t hlen, const void *data, size_t ndata) {
    size_t n = 8 + hlen + ndata;
    unsigned char *p = nn_malloc(n);
    for (int k = 0; k < 8; k++) p[k] = (unsigned char)((uint64_t)hlen >> (8 * k));
    memcpy(p + 8, header, hlen);
    if (ndata) memcpy(p + 8 + hlen, data, ndata);
    write_bytes(path, p, n);
    nn_free(p);
}

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

static int is_zeroed(const st_file *f) {
    return !f->entries && !f->n && !f->meta_keys && !f->meta_vals && !f->n_meta && !f->data && !f->data_size;
}

// st_read must fail on path with a message naming the file and containing needle (and needle2)
static void check_rejected_at(int line, const char *path, const char *needle, const char *needle2) {
    st_file f;
    memset(&f, 0xAB, sizeof f);  // st_read must zero it even on failure
    char err[1024] = "";
    int r = st_read(path, &f, err, sizeof err);
    if (r == 0) st_free(&f);
    CHECK(r == -1, "line %d: st_read accepted a bad file (wanted an error about '%s')", line, needle);
    CHECK(is_zeroed(&f), "line %d: st_file not zeroed after a failed read", line);
    CHECK(strstr(err, path), "line %d: error does not name the file: %s", line, err);
    CHECK(strstr(err, needle), "line %d: error lacks '%s': %s", line, needle, err);
    CHECK(!needle2 || strstr(err, needle2), "line %d: error lacks '%s': %s", line, needle2, err);
}
#define CHECK_REJECTED(path, needle) check_rejected_at(__LINE__, (path), (needle), NULL)
#define CHECK_REJECTED2(path, needle, needle2) check_rejected_at(__LINE__, (path), (needle), (needle2))

// a header (with 4 data bytes per tensor implied by data) written raw, then read: must fail with needle
static void check_raw_rejected_at(int line, const char *header, size_t ndata, const char *needle) {
    char path[512];
    tpath(path, sizeof path, "st_raw.safetensors");
    unsigned char data[64] = {0};
    CHECK(ndata <= sizeof data, "test data too large");
    write_raw(path, header, strlen(header), data, ndata);
    check_rejected_at(line, path, needle, NULL);
}
#define CHECK_RAW_REJECTED(header, ndata, needle) check_raw_rejected_at(__LINE__, (header), (ndata), (needle))

// number of "*.tmp.*" files left in dir
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    CHECK(d, "cannot list %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void fill(float *x, int n, float scale, float shift) {
    for (int i = 0; i < n; i++) x[i] = scale * (float)i + shift;
}

// ---- round trips ------------------------------------------------------------------------------

TEST(roundtrip_bit_exact) {
    char path[512];
    tpath(path, sizeof path, "st_roundtrip.safetensors");
    float scalar = 3.25f;
    float cube[2 * 3 * 4];
    fill(cube, 24, 0.37f, -5.0f);
    // values whose bits must survive: -0, infinities, a NaN with a payload, denormals, extremes
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&cube[0], &nan_bits, 4);
    cube[1] = -0.0f;
    cube[2] = INFINITY;
    cube[3] = -INFINITY;
    cube[4] = 1e-45f;
    cube[5] = FLT_MAX;
    cube[6] = -FLT_MIN;
    float vec[5] = {1, -2, 3.5f, 1e30f, -1e-30f};
    int64_t s3[3] = {2, 3, 4}, s1[1] = {5}, s0[2] = {0, 3};

    st_writer *w = st_writer_new();
    st_writer_add(w, "scalar", 0, NULL, &scalar);
    st_writer_add(w, "layers.0.cube", 3, s3, cube);
    st_writer_add(w, "vec", 1, s1, vec);
    st_writer_add(w, "empty", 2, s0, NULL);
    st_writer_meta(w, "format", "pt");
    st_writer_meta(w, "quote\"key\\", "back\\slash \"q\" \n\t\r\b\f / \x01 caf\xc3\xa9 \xe2\x82\xac");
    st_writer_meta(w, "empty", "");
    st_writer_meta(w, "format", "pwm");  // replaces the first value
    char err[1024] = "";
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);

    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "read failed: %s", err);
    CHECK(f.n == 4, "n = %d", f.n);
    const char *names[4] = {"scalar", "layers.0.cube", "vec", "empty"};
    size_t sizes[4] = {4, 96, 20, 0}, at = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(!strcmp(f.entries[i].name, names[i]), "entry %d is '%s'", i, f.entries[i].name);
        CHECK(f.entries[i].offset == at && f.entries[i].nbytes == sizes[i], "entry %d at %zu+%zu", i,
              f.entries[i].offset, f.entries[i].nbytes);
        at += sizes[i];
    }
    CHECK(f.data_size == at, "data_size %zu", f.data_size);

    const st_entry *e = st_find(&f, "scalar");
    CHECK(e && e->ndim == 0 && e->nbytes == 4, "scalar entry");
    CHECK(memcmp(st_data(&f, e), &scalar, 4) == 0, "scalar bits differ");
    e = st_find(&f, "layers.0.cube");
    CHECK(e && e->ndim == 3 && e->shape[0] == 2 && e->shape[1] == 3 && e->shape[2] == 4, "cube shape");
    CHECK(memcmp(st_data(&f, e), cube, sizeof cube) == 0, "cube bits differ");
    CHECK((uintptr_t)st_data(&f, e) % 4 == 0, "cube data misaligned");
    e = st_find(&f, "vec");
    CHECK(e && e->ndim == 1 && e->shape[0] == 5, "vec shape");
    CHECK(memcmp(st_data(&f, e), vec, sizeof vec) == 0, "vec bits differ");
    CHECK_CLOSE(st_data(&f, e)[2], 3.5, 0, 0);
    e = st_find(&f, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->nbytes == 0, "empty tensor");
    CHECK(!st_find(&f, "missing") && !st_find(&f, "vec "), "st_find found a missing name");

    CHECK(f.n_meta == 3, "n_meta = %d", f.n_meta);
    CHECK(st_meta(&f, "format") && !strcmp(st_meta(&f, "format"), "pwm"), "format = %s", st_meta(&f, "format"));
    const char *v = st_meta(&f, "quote\"key\\");
    CHECK(v && !strcmp(v, "back\\slash \"q\" \n\t\r\b\f / \x01 caf\xc3\xa9 \xe2\x82\xac"), "escaped value: %s", v);
    CHECK(st_meta(&f, "empty") && !st_meta(&f, "empty")[0], "empty value");
    CHECK(!st_meta(&f, "absent"), "st_meta found a missing key");
    st_free(&f);
    CHECK(is_zeroed(&f), "st_free did not zero");
    st_free(&f);  // harmless twice
}

TEST(names_with_quotes_and_overwrite) {
    char path[512];
    tpath(path, sizeof path, "st_names.safetensors");
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    int64_t s2[1] = {2}, s3[1] = {3};
    const char *odd = "a\"b\\c/d\te\xc3\xa9";
    char longest[128];
    memset(longest, 'n', 127);
    longest[127] = '\0';

    st_writer *w = st_writer_new();
    st_writer_add(w, odd, 1, s2, a);
    st_writer_add(w, longest, 1, s3, b);
    st_writer_add(w, "", 1, s2, a);  // an empty name is allowed by the format
    char err[1024] = "";
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    // committing again over the existing file replaces it
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "second commit failed: %s", err);
    st_writer_free(w);

    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "read failed: %s", err);
    CHECK(f.n == 3 && f.n_meta == 0, "n = %d, n_meta = %d", f.n, f.n_meta);
    const st_entry *e = st_find(&f, odd);
    CHECK(e && memcmp(st_data(&f, e), a, sizeof a) == 0, "odd name lost");
    e = st_find(&f, longest);
    CHECK(e && memcmp(st_data(&f, e), b, sizeof b) == 0, "127-byte name lost");
    CHECK(st_find(&f, ""), "empty name lost");
    st_free(&f);

    // a new commit with different content replaces the file
    w = st_writer_new();
    st_writer_add(w, "only", 1, s3, b);
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);
    CHECK(st_read(path, &f, err, sizeof err) == 0, "read failed: %s", err);
    CHECK(f.n == 1 && st_find(&f, "only") && !st_find(&f, odd), "file not replaced");
    st_free(&f);
}

// ---- the layout Python's safetensors expects ------------------------------------------------

TEST(header_layout) {
    char path[512];
    tpath(path, sizeof path, "st_layout.safetensors");
    float a[6];
    fill(a, 6, 1.5f, 0.25f);
    float b = -7.0f;
    int64_t sa[2] = {2, 3};
    st_writer *w = st_writer_new();
    st_writer_add(w, "a", 2, sa, a);
    st_writer_add(w, "b", 0, NULL, &b);
    st_writer_meta(w, "format", "pt");
    char err[1024] = "";
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);

    size_t n;
    unsigned char *p = slurp(path, &n);
    CHECK(p, "cannot read back %s", path);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[24,28]}}";
    size_t wl = strlen(want);
    uint64_t hl = le64(p);
    CHECK((8 + hl) % 8 == 0, "8 + header length %llu is not a multiple of 8", (unsigned long long)hl);
    CHECK(hl >= wl && hl < wl + 8, "header length %llu for %zu bytes of JSON", (unsigned long long)hl, wl);
    CHECK(n == 8 + hl + 28, "file is %zu bytes, want %llu", n, (unsigned long long)(8 + hl + 28));
    CHECK(memcmp(p + 8, want, wl) == 0, "header is %.*s", (int)hl, (const char *)p + 8);
    for (size_t i = wl; i < hl; i++) CHECK(p[8 + i] == ' ', "padding byte %zu is 0x%02x", i, p[8 + i]);
    CHECK(memcmp(p + 8 + hl, a, 24) == 0 && memcmp(p + 8 + hl + 24, &b, 4) == 0, "data section differs");
    nn_free(p);

    // an empty writer gives an empty object, still padded
    w = st_writer_new();
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "empty commit failed: %s", err);
    st_writer_free(w);
    p = slurp(path, &n);
    CHECK(p && n == 16 && le64(p) == 8 && !memcmp(p + 8, "{}      ", 8), "empty file layout (%zu bytes)", n);
    nn_free(p);
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0 && f.n == 0 && f.n_meta == 0, "empty file: %s", err);
    st_free(&f);
}

// files as other writers produce them: whitespace, any key order, data order unlike header order,
// \u escapes, and a header length that leaves the data unaligned
TEST(foreign_layout_accepted) {
    char path[512];
    tpath(path, sizeof path, "st_foreign.safetensors");
    const char *hdr = "{\n  \"b\" : { \"shape\": [ 2 ], \"data_offsets\" : [8,16], \"dtype\":\"F32\" },\r\n"
                      "\t\"a\\u0041\\/\": {\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[1,2]},"
                      "\"__metadata__\": {\"k\\u0022\": \"v\\\\\"}, \"z\":{\"dtype\":\"F32\",\"shape\":[3,0],"
                      "\"data_offsets\":[16,16]}}";
    float data[4] = {1, 2, 3, 4};
    for (size_t pad = 0; pad < 4; pad++) {
        // pad 0..3 trailing spaces so the data starts at every alignment
        char h[512];
        snprintf(h, sizeof h, "%s%.*s", hdr, (int)pad, "   ");
        write_raw(path, h, strlen(h), data, sizeof data);
        st_file f;
        char err[1024] = "";
        CHECK(st_read(path, &f, err, sizeof err) == 0, "pad %zu: read failed: %s", pad, err);
        CHECK(f.n == 3 && !strcmp(f.entries[0].name, "b") && !strcmp(f.entries[1].name, "aA/"), "entries");
        const st_entry *e = st_find(&f, "aA/");
        CHECK(e && (uintptr_t)st_data(&f, e) % 4 == 0, "data misaligned");
        CHECK(st_data(&f, e)[0] == 1 && st_data(&f, e)[1] == 2, "a values");
        e = st_find(&f, "b");
        CHECK(e && st_data(&f, e)[0] == 3 && st_data(&f, e)[1] == 4, "b values");
        CHECK(st_meta(&f, "k\"") && !strcmp(st_meta(&f, "k\""), "v\\"), "metadata escapes");
        st_free(&f);
    }
}

// ---- rejection ------------------------------------------------------------------------------

TEST(missing_file_rejected) {
    char path[512];
    tpath(path, sizeof path, "st_does_not_exist.safetensors");
    CHECK_REJECTED2(path, "cannot open", "No such file");
    tpath(path, sizeof path, "");
    CHECK_REJECTED(path, "directory");
}

TEST(truncated_rejected) {
    char path[512], cut[512];
    tpath(path, sizeof path, "st_full.safetensors");
    tpath(cut, sizeof cut, "st_cut.safetensors");
    float x[16];
    fill(x, 16, 1.0f, 1.0f);
    int64_t s[2] = {4, 4};
    st_writer *w = st_writer_new();
    st_writer_add(w, "x", 2, s, x);
    st_writer_add(w, "y", 1, s, x);
    st_writer_meta(w, "step", "12");
    char err[1024] = "";
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);
    size_t n;
    unsigned char *p = slurp(path, &n);
    size_t hl = (size_t)le64(p);
    // inside the length, at its end, inside the header, at its end, inside the data, one byte short
    size_t cuts[] = {0, 1, 4, 7, 8, 9, 8 + hl / 2, 8 + hl - 1, 8 + hl, 8 + hl + 1, 8 + hl + 63, 8 + hl + 64, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(cut, p, cuts[i]);
        CHECK_REJECTED(cut, "truncated");
    }
    // the length field says the header is a byte longer than it is (so it runs into the data),
    // or a byte shorter (so a padding byte becomes stray data)
    for (int d = -1; d <= 1; d += 2) {
        unsigned char q[8];
        uint64_t v = (uint64_t)hl + (uint64_t)d;
        for (int k = 0; k < 8; k++) q[k] = (unsigned char)(v >> (8 * k));
        memcpy(p, q, 8);
        write_bytes(cut, p, n);
        // a shorter header drops a padding space (stray data) or the closing brace (bad JSON)
        CHECK_REJECTED(cut, d > 0 || p[8 + hl - 1] != ' ' ? "JSON" : "trailing");
    }
    nn_free(p);
}

TEST(corrupt_header_bytes_rejected) {
    char path[512], bad[512];
    tpath(path, sizeof path, "st_good.safetensors");
    tpath(bad, sizeof bad, "st_corrupt.safetensors");
    float x[3] = {1, 2, 3};
    int64_t s[1] = {3};
    st_writer *w = st_writer_new();
    st_writer_add(w, "weight", 1, s, x);
    st_writer_meta(w, "note", "ok");
    char err[1024] = "";
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);
    size_t n;
    unsigned char *p = slurp(path, &n);
    size_t hl = (size_t)le64(p);
    // a control byte anywhere in the header (structure, strings, numbers, padding) is invalid
    for (size_t i = 8; i < 8 + hl; i++) {
        unsigned char keep = p[i];
        p[i] = 0x01;
        write_bytes(bad, p, n);
        p[i] = keep;
        st_file f;
        CHECK(st_read(bad, &f, err, sizeof err) == -1, "header byte %zu set to 0x01 was accepted", i - 8);
        CHECK(is_zeroed(&f) && strstr(err, bad), "header byte %zu: %s", i - 8, err);
    }
    nn_free(p);

    // malformed JSON, each with a specific complaint
    const char *T = "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]";
    char h[512];
    CHECK_RAW_REJECTED("", 0, "JSON");
    CHECK_RAW_REJECTED("[]", 0, "expected '{'");
    CHECK_RAW_REJECTED("{", 0, "JSON");
    CHECK_RAW_REJECTED("{}x", 0, "after the end");
    snprintf(h, sizeof h, "{\"a\":{%s},}", T);
    CHECK_RAW_REJECTED(h, 4, "expected a string");
    snprintf(h, sizeof h, "{\"a\" {%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "expected ':'");
    snprintf(h, sizeof h, "{\"a\":{%s}", T);
    CHECK_RAW_REJECTED(h, 4, "expected ',' or '}'");
    snprintf(h, sizeof h, "{\"a\":{%s}} x", T);
    CHECK_RAW_REJECTED(h, 4, "after the end");
    snprintf(h, sizeof h, "{\"a\\q\":{%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "invalid escape");
    snprintf(h, sizeof h, "{\"a\\u00e9\":{%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "\\u00E9");
    snprintf(h, sizeof h, "{\"a\\u0000\":{%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "\\u0000");
    snprintf(h, sizeof h, "{\"a\\u12\":{%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "4 hex digits");
    snprintf(h, sizeof h, "{\"a\xff\":{%s}}", T);
    CHECK_RAW_REJECTED(h, 4, "UTF-8");
    snprintf(h, sizeof h, "{\"a\xc0\xaf\":{%s}}", T);  // overlong '/'
    CHECK_RAW_REJECTED(h, 4, "UTF-8");
    CHECK_RAW_REJECTED("{\"a", 0, "unterminated");
    CHECK_RAW_REJECTED("{\"a\\", 0, "unterminated");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "integers");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "integers");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zero");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", 4, "integer");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1 2],\"data_offsets\":[0,4]}}", 4, "expected ',' or ']'");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "expected '['");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
                       "too large");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":F32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected a string");
    CHECK_RAW_REJECTED("{\"a\":[1]}", 4, "expected '{'");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown field 'x'");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets");
    CHECK_RAW_REJECTED("{\"a\":{}}", 4, "lacks the field \"dtype\"");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "twice");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "exactly 2");
    CHECK_RAW_REJECTED("{\"__metadata__\":{\"k\":1}}", 0, "must be strings");
    CHECK_RAW_REJECTED("{\"__metadata__\":[]}", 0, "expected '{'");
    CHECK_RAW_REJECTED("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice");
    CHECK_RAW_REJECTED("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "key 'k' appears twice");
    CHECK_RAW_REJECTED("{\"__metadata__\":{\"k\":\"a\nb\"}}", 0, "control byte");
}

TEST(wrong_dtype_rejected) {
    const char *dtypes[] = {"F16", "BF16", "F64", "I64", "U8", "f32", ""};
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        char h[256], path[512];
        snprintf(h, sizeof h, "{\"w\":{\"dtype\":\"%s\",\"shape\":[2],\"data_offsets\":[0,4]}}", dtypes[i]);
        tpath(path, sizeof path, "st_dtype.safetensors");
        write_raw(path, h, strlen(h), "\0\0\0\0", 4);
        char want[64];
        snprintf(want, sizeof want, "dtype %s,", dtypes[i]);
        CHECK_REJECTED2(path, want, "only F32");
    }
}

TEST(bad_offsets_rejected) {
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "end before they begin");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,8]}}", 8, "needs 4 bytes");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4,
                       "more than");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlapping");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "overlapping");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "gap");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "trailing");
    CHECK_RAW_REJECTED("{}", 4, "trailing");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 4, "truncated");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 4, "truncated");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, "overlapping");
}

TEST(names_and_dims_limits) {
    char h[1024], name[200];
    memset(name, 'n', 128);
    name[128] = '\0';
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    CHECK_RAW_REJECTED(h, 4, "at most 127");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'a' appears twice");
    CHECK_RAW_REJECTED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                       "9 dimensions");

    // 8 dimensions and a 127-byte name are fine
    char path[512], err[1024] = "";
    name[127] = '\0';
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", name);
    tpath(path, sizeof path, "st_limits.safetensors");
    write_raw(path, h, strlen(h), "\0\0\0\0\0\0\0\0", 8);
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "8-D tensor rejected: %s", err);
    CHECK(f.n == 1 && f.entries[0].ndim == 8 && f.entries[0].shape[7] == 2 && strlen(f.entries[0].name) == 127,
          "8-D entry");
    st_free(&f);
}

TEST(header_length_rejected) {
    char path[512];
    tpath(path, sizeof path, "st_hlen.safetensors");
    unsigned char p[64] = {0};
    memcpy(p + 8, "{}", 2);
    uint64_t lens[] = {(uint64_t)200 << 20, (uint64_t)100 << 20 | 1, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        for (int k = 0; k < 8; k++) p[k] = (unsigned char)(lens[i] >> (8 * k));
        write_bytes(path, p, sizeof p);
        CHECK_REJECTED2(path, "header length", "absurd");
    }
    p[0] = 57;  // 8 + 57 > 64 bytes
    for (int k = 1; k < 8; k++) p[k] = 0;
    write_bytes(path, p, sizeof p);
    CHECK_REJECTED2(path, "header length 57", "larger than");
}

// ---- the writer -----------------------------------------------------------------------------

TEST(writer_bad_arguments) {
    char path[512], err[1024];
    tpath(path, sizeof path, "st_badargs.safetensors");
    float x[4] = {0};
    int64_t s[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, neg[1] = {-2};
    char longname[200];
    memset(longname, 'q', 128);
    longname[128] = '\0';
    for (int c = 0; c < 7; c++) {
        st_writer *w = st_writer_new();
        st_writer_add(w, "good", 1, s, x);
        const char *want = "";
        switch (c) {
        case 0: st_writer_add(w, longname, 1, s, x); want = "at most 127"; break;
        case 1: st_writer_add(w, "nine", 9, s, x); want = "ndim 9"; break;
        case 2: st_writer_add(w, "neg", 1, neg, x); want = "negative dimension -2"; break;
        case 3: st_writer_add(w, "good", 1, s, x); want = "'good' was added twice"; break;
        case 4: st_writer_add(w, "__metadata__", 1, s, x); want = "reserved"; break;
        case 5: st_writer_add(w, "bad\xff", 1, s, x); want = "UTF-8"; break;
        case 6: st_writer_add(w, "nodata", 1, s, NULL); want = "NULL data"; break;
        }
        err[0] = '\0';
        CHECK(st_writer_commit(w, path, err, sizeof err) == -1, "case %d: commit accepted a bad tensor", c);
        CHECK(strstr(err, want) && strstr(err, path), "case %d: error lacks '%s': %s", c, want, err);
        st_writer_free(w);
        size_t n;
        unsigned char *p = slurp(path, &n);
        CHECK(!p, "case %d: a file was written", c);
    }
    st_writer *w = st_writer_new();
    st_writer_meta(w, "k", "\xe2\x82");  // cut UTF-8 sequence
    CHECK(st_writer_commit(w, path, err, sizeof err) == -1 && strstr(err, "UTF-8"), "bad metadata accepted: %s", err);
    st_writer_free(w);
    st_writer_free(NULL);
}

TEST(atomic_commit_failure_keeps_old_file) {
    char dir[512], path[600], err[1024];
    tpath(dir, sizeof dir, "st_atomic");
    CHECK(mkdir(dir, 0700) == 0, "cannot create %s", dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    // the old file
    float old[4] = {1, 2, 3, 4};
    int64_t s4[1] = {4};
    st_writer *w = st_writer_new();
    st_writer_add(w, "old", 1, s4, old);
    CHECK(st_writer_commit(w, path, err, sizeof err) == 0, "commit failed: %s", err);
    st_writer_free(w);
    size_t n0;
    unsigned char *before = slurp(path, &n0);
    CHECK(before && n0 < 4096, "old file");

    // a commit into a missing directory fails and creates nothing
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no/such/dir/model.safetensors", dir);
    w = st_writer_new();
    st_writer_add(w, "new", 1, s4, old);
    err[0] = '\0';
    CHECK(st_writer_commit(w, missing, err, sizeof err) == -1, "commit into a missing directory succeeded");
    CHECK(strstr(err, missing) && strstr(err, "No such file"), "error: %s", err);

    // a rename onto a directory fails after the temporary file was written: it must be removed
    char sub[700];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    CHECK(mkdir(sub, 0700) == 0, "cannot create %s", sub);
    err[0] = '\0';
    CHECK(st_writer_commit(w, sub, err, sizeof err) == -1, "commit over a directory succeeded");
    CHECK(strstr(err, "renaming"), "error: %s", err);
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode), "the directory was replaced");
    CHECK(count_temp_files(dir) == 0, "a temporary file was left behind after a failed rename");
    st_writer_free(w);

    // a write that fails half way (file size limit) leaves the old file as it was
    static float big[16384];
    int64_t sbig[1] = {16384};
    w = st_writer_new();
    st_writer_add(w, "big", 1, sbig, big);
    struct rlimit saved, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0, "getrlimit");
    lim = saved;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    int have_limit = saved.rlim_max >= 4096 && setrlimit(RLIMIT_FSIZE, &lim) == 0;
    err[0] = '\0';
    int r = have_limit ? st_writer_commit(w, path, err, sizeof err) : -1;
    if (have_limit) setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, prev);
    st_writer_free(w);
    if (have_limit) {
        CHECK(r == -1, "commit past the file size limit succeeded");
        CHECK(strstr(err, "writing") && strstr(err, "untouched"), "error: %s", err);
        CHECK(count_temp_files(dir) == 0, "a temporary file was left behind after a failed write");
    }

    // a commit rejected for its arguments does not touch the file either
    w = st_writer_new();
    st_writer_add(w, "x", -1, NULL, NULL);
    CHECK(st_writer_commit(w, path, err, sizeof err) == -1, "bad commit succeeded");
    st_writer_free(w);

    size_t n1;
    unsigned char *after = slurp(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0, "the old file changed");
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0 && st_find(&f, "old"), "old file unreadable: %s", err);
    st_free(&f);
    nn_free(before);
    nn_free(after);
    CHECK(count_temp_files(dir) == 0, "temporary files left behind");
}

const test_case safetensors_tests[] = {
    {"roundtrip_bit_exact", roundtrip_bit_exact},
    {"names_with_quotes_and_overwrite", names_with_quotes_and_overwrite},
    {"header_layout", header_layout},
    {"foreign_layout_accepted", foreign_layout_accepted},
    {"missing_file_rejected", missing_file_rejected},
    {"truncated_rejected", truncated_rejected},
    {"corrupt_header_bytes_rejected", corrupt_header_bytes_rejected},
    {"wrong_dtype_rejected", wrong_dtype_rejected},
    {"bad_offsets_rejected", bad_offsets_rejected},
    {"names_and_dims_limits", names_and_dims_limits},
    {"header_length_rejected", header_length_rejected},
    {"writer_bad_arguments", writer_bad_arguments},
    {"atomic_commit_failure_keeps_old_file", atomic_commit_failure_keeps_old_file},
    {0},
};

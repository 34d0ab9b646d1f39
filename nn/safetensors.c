#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

// the data section is copied byte for byte to and from float arrays, so the host must store
// floats as little-endian IEEE-754 binary32 like the format does
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "nn/safetensors.c assumes a little-endian host (safetensors data is little-endian)");
#else
#error "nn/safetensors.c cannot tell the host byte order; it needs a little-endian host"
#endif
_Static_assert(sizeof(float) == 4, "safetensors F32 data needs a 4-byte float");

#define ST_MAX_HEADER ((uint64_t)100 << 20)  // larger header lengths are treated as corruption
#define ST_HINT "the file is corrupt or not a safetensors file; re-create it (e.g. save the checkpoint again)"

// ---- small helpers --------------------------------------------------------------------------

// grow an array of elem-byte items (n used, *cap allocated) so one more fits
static void *grow(void *p, size_t elem, int n, int *cap) {
    if (n < *cap) return p;
    int nc = *cap ? 2 * *cap : 8;
    void *q = nn_malloc((size_t)nc * elem);
    if (n) memcpy(q, p, (size_t)n * elem);
    nn_free(p);
    *cap = nc;
    return q;
}

static char *dup_str(const char *s) {
    size_t len = strlen(s);
    char *d = nn_malloc(len + 1);
    memcpy(d, s, len + 1);
    return d;
}

// length of the well-formed UTF-8 sequence at s[0..n), or 0 if it is not one
// (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF)
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return len;
}

static int utf8_valid(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

// "[2, 3, 4]" into buf
static void fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < ndim && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (at < len) snprintf(buf + at, len - at, "]");
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// the first string that occurs twice among strs[0..n), or NULL (sorts a copy of the pointers)
static const char *find_duplicate(const char *const *strs, int n) {
    if (n < 2) return NULL;
    const char **s = nn_malloc((size_t)n * sizeof *s);
    memcpy(s, strs, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (!strcmp(s[i - 1], s[i])) dup = s[i];
    nn_free(s);
    return dup;
}

// ---- strict JSON parser for the header ------------------------------------------------------
// Only what a safetensors header holds: objects, arrays of non-negative integers and strings.

typedef struct {
    const char *s;  // header text (not NUL-terminated)
    size_t n, i;    // length and cursor
    const char *path;
    char *err;
    size_t errlen;
} jp;

// a syntax error at the cursor
static int jp_fail(jp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jp_fail(jp *p, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nn_err(p->err, p->errlen, "safetensors '%s': the header is not valid JSON (at header byte %zu: %s); " ST_HINT,
                  p->path, p->i, what);
}

// a well-formed header that describes something wrong or unsupported
static int st_fail(const char *path, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int st_fail(const char *path, char *err, size_t errlen, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nn_err(err, errlen, "safetensors '%s': %s", path, what);
}

static void jp_ws(jp *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int jp_peek(const jp *p) { return p->i < p->n ? (unsigned char)p->s[p->i] : -1; }

// what sits at the cursor, for messages
static const char *jp_found(const jp *p, char *buf, size_t len) {
    int c = jp_peek(p);
    if (c < 0) snprintf(buf, len, "the end of the header");
    else if (c >= 0x20 && c < 0x7f) snprintf(buf, len, "'%c'", c);
    else snprintf(buf, len, "byte 0x%02x", c);
    return buf;
}

// skip whitespace, then consume c
static int jp_expect(jp *p, char c, const char *ctx) {
    jp_ws(p);
    if (jp_peek(p) != (unsigned char)c) {
        char f[32];
        return jp_fail(p, "expected '%c' %s but found %s", c, ctx, jp_found(p, f, sizeof f));
    }
    p->i++;
    return 0;
}

// a string into a new NUL-terminated buffer *out (freed by the caller on success)
static int jp_string(jp *p, char **out, const char *ctx) {
    *out = NULL;
    jp_ws(p);
    if (jp_peek(p) != '"') {
        char f[32];
        return jp_fail(p, "expected a string (%s) but found %s", ctx, jp_found(p, f, sizeof f));
    }
    // the decoded text is never longer than the raw text up to the closing quote
    size_t j = p->i + 1;
    while (j < p->n && p->s[j] != '"') j += p->s[j] == '\\' ? 2 : 1;
    char *buf = nn_malloc((j < p->n ? j : p->n) - p->i + 1);
    size_t len = 0;
    p->i++;
    for (;;) {
        if (p->i >= p->n) {
            nn_free(buf);
            return jp_fail(p, "unterminated string (%s)", ctx);
        }
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            nn_free(buf);
            return jp_fail(p, "raw control byte 0x%02x inside a string (%s); it must be escaped", c, ctx);
        }
        if (c >= 0x80) {
            // raw UTF-8 is copied through after checking it is well formed
            size_t k = utf8_seq((const unsigned char *)p->s + p->i, p->n - p->i);
            if (!k) {
                nn_free(buf);
                return jp_fail(p, "invalid UTF-8 inside a string (%s)", ctx);
            }
            memcpy(buf + len, p->s + p->i, k);
            len += k;
            p->i += k;
            continue;
        }
        if (c != '\\') {
            buf[len++] = (char)c;
            p->i++;
            continue;
        }
        // an escape sequence
        p->i++;
        int e = jp_peek(p);
        if (e < 0) {
            nn_free(buf);
            return jp_fail(p, "unterminated string (%s)", ctx);
        }
        p->i++;
        switch (e) {
        case '"': case '\\': case '/': buf[len++] = (char)e; break;
        case 'b': buf[len++] = '\b'; break;
        case 'f': buf[len++] = '\f'; break;
        case 'n': buf[len++] = '\n'; break;
        case 'r': buf[len++] = '\r'; break;
        case 't': buf[len++] = '\t'; break;
        case 'u': {
            unsigned v = 0;
            for (int k = 0; k < 4; k++, p->i++) {
                int h = jp_peek(p);
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) {
                    nn_free(buf);
                    return jp_fail(p, "\\u must be followed by 4 hex digits (%s)", ctx);
                }
                v = v * 16 + (unsigned)d;
            }
            if (v == 0 || v >= 0x80) {
                nn_free(buf);
                p->i -= 6;
                return jp_fail(p, "unsupported escape \\u%04X (%s): only \\u0001..\\u007F are supported; "
                               "write other characters as raw UTF-8", v, ctx);
            }
            buf[len++] = (char)v;
            break;
        }
        default:
            nn_free(buf);
            p->i -= 2;
            return jp_fail(p, "invalid escape sequence in a string (%s); allowed are "
                           "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX", ctx);
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

// a non-negative integer without sign, fraction, exponent or leading zeros
static int jp_uint(jp *p, uint64_t *v, const char *ctx) {
    jp_ws(p);
    int c = jp_peek(p);
    if (c == '-') return jp_fail(p, "negative number in %s", ctx);
    if (c < '0' || c > '9') {
        char f[32];
        return jp_fail(p, "expected a non-negative integer in %s but found %s", ctx, jp_found(p, f, sizeof f));
    }
    if (c == '0' && p->i + 1 < p->n && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9')
        return jp_fail(p, "number with a leading zero in %s", ctx);
    uint64_t x = 0;
    while ((c = jp_peek(p)) >= '0' && c <= '9') {
        if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return jp_fail(p, "number too large in %s", ctx);
        x = x * 10 + (uint64_t)(c - '0');
        p->i++;
    }
    if (c == '.' || c == 'e' || c == 'E') return jp_fail(p, "%s must hold integers, not fractions or exponents", ctx);
    *v = x;
    return 0;
}

// an array of non-negative integers; stores the first cap of them and counts all in *count
static int jp_uints(jp *p, uint64_t *out, int cap, int *count, const char *ctx) {
    *count = 0;
    if (jp_expect(p, '[', ctx)) return -1;
    jp_ws(p);
    if (jp_peek(p) == ']') {
        p->i++;
        return 0;
    }
    for (;;) {
        uint64_t v = 0;
        if (jp_uint(p, &v, ctx)) return -1;
        if (*count < cap) out[*count] = v;
        (*count)++;
        jp_ws(p);
        int c = jp_peek(p);
        p->i++;
        if (c == ']') return 0;
        if (c != ',') {
            char f[32];
            p->i--;
            return jp_fail(p, "expected ',' or ']' in %s but found %s", ctx, jp_found(p, f, sizeof f));
        }
    }
}

// after an object member: ',' (returns 0, more follow) or '}' (returns 1, done); -1 on error
static int jp_next_member(jp *p, const char *ctx) {
    jp_ws(p);
    int c = jp_peek(p);
    if (c == ',') {
        p->i++;
        return 0;
    }
    if (c == '}') {
        p->i++;
        return 1;
    }
    char f[32];
    return jp_fail(p, "expected ',' or '}' after a member of %s but found %s", ctx, jp_found(p, f, sizeof f));
}

// the "__metadata__" object: string keys to string values, appended to f
static int parse_metadata(jp *p, st_file *f) {
    int cap = 0;
    if (jp_expect(p, '{', "to open __metadata__")) return -1;
    jp_ws(p);
    if (jp_peek(p) == '}') {
        p->i++;
        return 0;
    }
    for (;;) {
        char *key, *val;
        if (jp_string(p, &key, "a __metadata__ key")) return -1;
        if (jp_expect(p, ':', "after a __metadata__ key")) {
            nn_free(key);
            return -1;
        }
        jp_ws(p);
        if (jp_peek(p) != '"') {
            nn_free(key);
            return jp_fail(p, "__metadata__ values must be strings");
        }
        if (jp_string(p, &val, "a __metadata__ value")) {
            nn_free(key);
            return -1;
        }
        int cap_v = cap;
        f->meta_keys = grow(f->meta_keys, sizeof(char *), f->n_meta, &cap);
        f->meta_vals = grow(f->meta_vals, sizeof(char *), f->n_meta, &cap_v);
        f->meta_keys[f->n_meta] = key;
        f->meta_vals[f->n_meta] = val;
        f->n_meta++;
        int r = jp_next_member(p, "__metadata__");
        if (r) return r < 0 ? -1 : 0;
    }
}

// one tensor's {"dtype":..,"shape":..,"data_offsets":..} into e (name already set);
// the raw offsets go to off[2]
static int parse_tensor(jp *p, st_entry *e, uint64_t off[2]) {
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (jp_expect(p, '{', "to open a tensor entry")) return -1;
    jp_ws(p);
    if (jp_peek(p) != '}') {
        for (;;) {
            char *key;
            if (jp_string(p, &key, "a field of a tensor entry")) return -1;
            if (jp_expect(p, ':', "after a field name")) {
                nn_free(key);
                return -1;
            }
            int *have = !strcmp(key, "dtype") ? &have_dtype : !strcmp(key, "shape") ? &have_shape
                      : !strcmp(key, "data_offsets") ? &have_off : NULL;
            if (!have) {
                int r = st_fail(p->path, p->err, p->errlen,
                                "tensor '%s' has an unknown field '%s' (expected dtype, shape, data_offsets); " ST_HINT,
                                e->name, key);
                nn_free(key);
                return r;
            }
            if (*have) {
                int r = st_fail(p->path, p->err, p->errlen, "tensor '%s' has the field '%s' twice; " ST_HINT,
                                e->name, key);
                nn_free(key);
                return r;
            }
            *have = 1;
            if (have == &have_dtype) {
                char *dtype;
                nn_free(key);
                if (jp_string(p, &dtype, "the dtype")) return -1;
                if (strcmp(dtype, "F32")) {
                    int r = st_fail(p->path, p->err, p->errlen,
                                    "tensor '%s' has dtype %s, but only F32 (float32) is supported; "
                                    "convert the tensors to float32 before saving (e.g. tensor.float() in PyTorch)",
                                    e->name, dtype);
                    nn_free(dtype);
                    return r;
                }
                nn_free(dtype);
            } else if (have == &have_shape) {
                uint64_t dims[ST_MAX_NDIM];
                nn_free(key);
                if (jp_uints(p, dims, ST_MAX_NDIM, &e->ndim, "a shape")) return -1;
                if (e->ndim > ST_MAX_NDIM)
                    return st_fail(p->path, p->err, p->errlen,
                                   "tensor '%s' has %d dimensions, but at most ST_MAX_NDIM = %d are supported; "
                                   "reshape it before saving", e->name, e->ndim, ST_MAX_NDIM);
                for (int k = 0; k < e->ndim; k++) {
                    if (dims[k] > (uint64_t)INT64_MAX)
                        return st_fail(p->path, p->err, p->errlen, "tensor '%s' has an absurd dimension %llu; " ST_HINT,
                                       e->name, (unsigned long long)dims[k]);
                    e->shape[k] = (int64_t)dims[k];
                }
            } else {
                int cnt;
                nn_free(key);
                if (jp_uints(p, off, 2, &cnt, "data_offsets")) return -1;
                if (cnt != 2)
                    return st_fail(p->path, p->err, p->errlen,
                                   "tensor '%s' has %d data_offsets; it needs exactly 2, [begin, end]; " ST_HINT,
                                   e->name, cnt);
            }
            int r = jp_next_member(p, "a tensor entry");
            if (r < 0) return -1;
            if (r) break;
        }
    } else {
        p->i++;
    }
    const char *missing = !have_dtype ? "dtype" : !have_shape ? "shape" : !have_off ? "data_offsets" : NULL;
    if (missing)
        return st_fail(p->path, p->err, p->errlen, "tensor '%s' lacks the field \"%s\"; " ST_HINT, e->name, missing);
    return 0;
}

// the whole header into f's entries and metadata; the raw offsets go to *offs (2 per entry)
static int parse_header(jp *p, st_file *f, uint64_t **offs) {
    int cap = 0, cap_off = 0, seen_meta = 0;
    if (jp_expect(p, '{', "at the start of the header")) return -1;
    jp_ws(p);
    if (jp_peek(p) == '}') {
        p->i++;
    } else {
        for (;;) {
            char *key;
            if (jp_string(p, &key, "a tensor name")) return -1;
            if (jp_expect(p, ':', "after a tensor name")) {
                nn_free(key);
                return -1;
            }
            if (!strcmp(key, "__metadata__")) {
                nn_free(key);
                if (seen_meta) return jp_fail(p, "__metadata__ appears twice");
                seen_meta = 1;
                if (parse_metadata(p, f)) return -1;
            } else {
                size_t len = strlen(key);
                if (len >= sizeof f->entries[0].name) {
                    int r = st_fail(p->path, p->err, p->errlen,
                                    "the tensor name '%.40s...' is %zu bytes long, but at most %zu are supported; "
                                    "use shorter names", key, len, sizeof f->entries[0].name - 1);
                    nn_free(key);
                    return r;
                }
                f->entries = grow(f->entries, sizeof *f->entries, f->n, &cap);
                *offs = grow(*offs, 2 * sizeof **offs, f->n, &cap_off);
                st_entry *e = &f->entries[f->n++];
                memset(e, 0, sizeof *e);
                memcpy(e->name, key, len + 1);
                nn_free(key);
                if (parse_tensor(p, e, *offs + 2 * (f->n - 1))) return -1;
            }
            int r = jp_next_member(p, "the header");
            if (r < 0) return -1;
            if (r) break;
        }
    }
    // only whitespace (the writer's padding) may follow
    jp_ws(p);
    if (p->i != p->n) {
        char fb[32];
        return jp_fail(p, "unexpected %s after the end of the JSON object", jp_found(p, fb, sizeof fb));
    }
    return 0;
}

// ---- reader -----------------------------------------------------------------------------------

typedef struct {
    uint64_t begin, end;
    int idx;
} st_span;

static int cmp_span(const void *a, const void *b) {
    const st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

// the contents' CRC-32: every metadata pair but the seal itself, then every tensor's name, shape
// and data, in file order (what writer and reader both see)
static uint32_t crc_meta(uint32_t crc, char *const *keys, char *const *vals, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], ST_SEAL_KEY)) {
            crc = nn_crc32(crc, keys[i], strlen(keys[i]) + 1);
            crc = nn_crc32(crc, vals[i], strlen(vals[i]) + 1);
        }
    return crc;
}

static uint32_t crc_tensor(uint32_t crc, const char *name, int ndim, const int64_t *shape, const void *data,
                           size_t nbytes) {
    crc = nn_crc32(crc, name, strlen(name) + 1);
    for (int k = 0; k < ndim; k++) {
        uint64_t d = (uint64_t)shape[k];
        unsigned char le[8];
        for (int j = 0; j < 8; j++) le[j] = (unsigned char)(d >> (8 * j));
        crc = nn_crc32(crc, le, 8);
    }
    return nn_crc32(crc, data, nbytes);
}

// check names, sizes and that the offsets tile the data section exactly; fills offset/nbytes
static int validate(const char *path, st_file *f, const uint64_t *offs, size_t data_size, char *err, size_t errlen) {
    // duplicate names and metadata keys
    if (f->n > 1) {
        const char **names = nn_malloc((size_t)f->n * sizeof *names);
        for (int i = 0; i < f->n; i++) names[i] = f->entries[i].name;
        const char *dup = find_duplicate(names, f->n);
        int r = dup ? st_fail(path, err, errlen, "the tensor name '%s' appears twice; " ST_HINT, dup) : 0;
        nn_free(names);
        if (r) return r;
    }
    const char *dup = find_duplicate((const char *const *)f->meta_keys, f->n_meta);
    if (dup) return st_fail(path, err, errlen, "the __metadata__ key '%s' appears twice; " ST_HINT, dup);

    // each tensor's byte count against its shape, and against the data actually present
    for (int i = 0; i < f->n; i++) {
        st_entry *e = &f->entries[i];
        uint64_t begin = offs[2 * i], end = offs[2 * i + 1];
        char shp[160];
        fmt_shape(shp, sizeof shp, e->ndim, e->shape);
        if (end < begin)
            return st_fail(path, err, errlen, "tensor '%s' has data_offsets [%llu, %llu] that end before they begin; " ST_HINT,
                           e->name, (unsigned long long)begin, (unsigned long long)end);
        uint64_t bytes = 4;
        int overflow = 0;
        for (int k = 0; k < e->ndim; k++) {
            uint64_t d = (uint64_t)e->shape[k];
            if (d && bytes > UINT64_MAX / d) overflow = 1;
            else bytes *= d;
        }
        if (overflow || bytes != end - begin)
            return st_fail(path, err, errlen,
                           "tensor '%s' has shape %s, which needs %s%llu bytes as F32, but its data_offsets "
                           "[%llu, %llu] span %llu bytes; " ST_HINT,
                           e->name, shp, overflow ? "more than " : "", (unsigned long long)bytes,
                           (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin));
        if (end > data_size)
            return st_fail(path, err, errlen,
                           "tensor '%s' needs data up to byte %llu of the data section, which holds only %zu bytes; "
                           "the file is truncated (copy or download it again, or re-create it)",
                           e->name, (unsigned long long)end, data_size);
        e->offset = (size_t)begin;
        e->nbytes = (size_t)(end - begin);
    }

    // sorted by offset, each tensor must start where the previous one ended
    st_span *sp = nn_malloc((size_t)(f->n ? f->n : 1) * sizeof *sp);
    for (int i = 0; i < f->n; i++) sp[i] = (st_span){offs[2 * i], offs[2 * i + 1], i};
    qsort(sp, (size_t)f->n, sizeof *sp, cmp_span);
    uint64_t at = 0;
    int r = 0;
    for (int i = 0; i < f->n && !r; i++) {
        if (sp[i].begin < at)
            r = st_fail(path, err, errlen, "tensors '%s' and '%s' have overlapping data_offsets; " ST_HINT,
                        f->entries[sp[i - 1].idx].name, f->entries[sp[i].idx].name);
        else if (sp[i].begin > at)
            r = st_fail(path, err, errlen,
                        "bytes %llu..%llu of the data section belong to no tensor (a gap before tensor '%s'); " ST_HINT,
                        (unsigned long long)at, (unsigned long long)sp[i].begin, f->entries[sp[i].idx].name);
        at = sp[i].end;
    }
    nn_free(sp);
    if (r) return r;
    if (at != data_size)
        return st_fail(path, err, errlen,
                       "the data section holds %zu bytes but the tensors use only %llu (trailing bytes after the "
                       "last tensor); " ST_HINT, data_size, (unsigned long long)at);
    return 0;
}

int st_read(const char *path, st_file *f, char *err, size_t errlen) {
    st_file t;
    memset(&t, 0, sizeof t);
    memset(f, 0, sizeof *f);
    unsigned char *buf = NULL;
    uint64_t *offs = NULL;
    int r = -1;

    // the whole file into memory with a single read
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nn_err(err, errlen, "cannot open safetensors file '%s': %s; check the path (does the checkpoint exist?)",
                      path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        r = nn_err(err, errlen, "cannot stat safetensors file '%s': %s; check the path and permissions", path,
                   strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        r = nn_err(err, errlen, "safetensors '%s' is a directory, not a file; give the path of a .safetensors file", path);
        goto done;
    }
    if (sb.st_size < 8) {
        r = st_fail(path, err, errlen, "the file is %lld bytes long, shorter than the 8-byte header length; "
                    "the file is truncated or not a safetensors file (re-create it)", (long long)sb.st_size);
        goto done;
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        r = st_fail(path, err, errlen, "the file is too large (%lld bytes) for this machine", (long long)sb.st_size);
        goto done;
    }
    size_t size = (size_t)sb.st_size;
    buf = nn_malloc(size);
    if (fread(buf, 1, size, fp) != size) {
        r = nn_err(err, errlen, "cannot read safetensors file '%s': %s; check the file and the disk", path,
                   ferror(fp) ? strerror(errno) : "the file got shorter while reading");
        goto done;
    }

    // the header length
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | buf[k];
    if (hl > ST_MAX_HEADER) {
        r = st_fail(path, err, errlen, "the header length %llu bytes is absurd (over 100 MiB); " ST_HINT,
                    (unsigned long long)hl);
        goto done;
    }
    if (hl > size - 8) {
        r = st_fail(path, err, errlen, "the header length %llu bytes is larger than the %zu bytes that follow it; "
                    "the file is truncated or corrupt (copy or download it again, or re-create it)",
                    (unsigned long long)hl, size - 8);
        goto done;
    }

    // the header, then the checks that need the data section's size
    jp p = {(const char *)buf + 8, (size_t)hl, 0, path, err, errlen};
    if (parse_header(&p, &t, &offs)) goto done;
    size_t data_size = size - 8 - (size_t)hl;
    if (validate(path, &t, offs, data_size, err, errlen)) goto done;
    // a sealed file: its contents against the checksum, then the seal is dropped from the metadata
    for (int i = 0; i < t.n_meta; i++)
        if (!strcmp(t.meta_keys[i], ST_SEAL_KEY)) {
            uint32_t crc = crc_meta(0, t.meta_keys, t.meta_vals, t.n_meta);
            for (int k = 0; k < t.n; k++)
                crc = crc_tensor(crc, t.entries[k].name, t.entries[k].ndim, t.entries[k].shape,
                                 buf + 8 + hl + t.entries[k].offset, t.entries[k].nbytes);
            char want[16];
            snprintf(want, sizeof want, "%08x", crc);
            if (strcmp(want, t.meta_vals[i])) {
                r = st_fail(path, err, errlen, "its contents do not match its checksum (%s %s, contents %s): the file "
                            "was edited or is corrupt; use the file as the program wrote it, or re-create it",
                            ST_SEAL_KEY, t.meta_vals[i], want);
                goto done;
            }
            nn_free(t.meta_keys[i]), nn_free(t.meta_vals[i]);
            for (int j = i + 1; j < t.n_meta; j++)
                t.meta_keys[j - 1] = t.meta_keys[j], t.meta_vals[j - 1] = t.meta_vals[j];
            t.n_meta--;
            break;
        }

    // move the data section to the start of the (64-byte aligned) buffer so every float is aligned
    memmove(buf, buf + 8 + hl, data_size);
    t.data = buf;
    t.data_size = data_size;
    buf = NULL;
    *f = t;
    r = 0;
done:
    fclose(fp);
    nn_free(buf);
    nn_free(offs);
    if (r) st_free(&t);
    return r;
}

void st_free(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n_meta; i++) {
        nn_free(f->meta_keys[i]);
        nn_free(f->meta_vals[i]);
    }
    nn_free(f->meta_keys);
    nn_free(f->meta_vals);
    nn_free(f->entries);
    nn_free(f->data);
    memset(f, 0, sizeof *f);
}

const st_entry *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].name, name)) return &f->entries[i];
    return NULL;
}

const float *st_data(const st_file *f, const st_entry *e) { return (const float *)(f->data + e->offset); }

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
    return NULL;
}

// ---- writer -----------------------------------------------------------------------------------

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[ST_MAX_NDIM];
    const float *data;  // borrowed
    size_t nbytes;
} st_item;

struct st_writer {
    st_item *items;
    int n, cap;
    char **keys, **vals;
    int n_meta, cap_keys, cap_vals;
    char problem[320];  // the first bad argument to add/meta, reported by commit
    int sealed;         // commit adds the contents' checksum (ST_SEAL_KEY)
};

// a growable byte buffer for the header
typedef struct {
    char *p;
    size_t n, cap;
} st_buf;

static void buf_put(st_buf *b, const char *s, size_t len) {
    if (b->n + len > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + len) nc *= 2;
        char *q = nn_malloc(nc);
        if (b->n) memcpy(q, b->p, b->n);
        nn_free(b->p);
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

static void buf_str(st_buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_u64(st_buf *b, uint64_t v) {
    char t[24];
    buf_put(b, t, (size_t)snprintf(t, sizeof t, "%llu", (unsigned long long)v));
}

// s as a JSON string literal: quotes, backslashes and control bytes escaped, UTF-8 kept raw
static void buf_json_str(st_buf *b, const char *s) {
    buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        switch (c) {
        case '"': buf_put(b, "\\\"", 2); break;
        case '\\': buf_put(b, "\\\\", 2); break;
        case '\b': buf_put(b, "\\b", 2); break;
        case '\f': buf_put(b, "\\f", 2); break;
        case '\n': buf_put(b, "\\n", 2); break;
        case '\r': buf_put(b, "\\r", 2); break;
        case '\t': buf_put(b, "\\t", 2); break;
        default:
            if (c < 0x20) buf_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
            else buf_put(b, (const char *)&c, 1);
        }
    }
    buf_put(b, "\"", 1);
}

// remember the first bad argument for st_writer_commit to report; returns 1
static int writer_problem(st_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int writer_problem(st_writer *w, const char *fmt, ...) {
    if (w->problem[0]) return 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->problem, sizeof w->problem, fmt, ap);
    va_end(ap);
    return 1;
}

st_writer *st_writer_new(void) { return nn_malloc(sizeof(st_writer)); }

// check st_writer_add's arguments and compute the byte count; 1 (problem recorded) if they are bad
static int check_add(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data,
                     size_t *nbytes) {
    if (!name) return writer_problem(w, "st_writer_add got a NULL tensor name");
    size_t len = strlen(name);
    if (len >= sizeof w->items[0].name)
        return writer_problem(w, "the tensor name '%.40s...' is %zu bytes long, but at most %zu are supported",
                              name, len, sizeof w->items[0].name - 1);
    if (!utf8_valid(name)) return writer_problem(w, "the tensor name '%s' is not valid UTF-8", name);
    if (!strcmp(name, "__metadata__"))
        return writer_problem(w, "'__metadata__' is reserved and cannot name a tensor");
    if (ndim < 0 || ndim > ST_MAX_NDIM)
        return writer_problem(w, "tensor '%s' has ndim %d; it must be 0..%d", name, ndim, ST_MAX_NDIM);
    if (ndim > 0 && !shape) return writer_problem(w, "tensor '%s' has ndim %d but a NULL shape", name, ndim);
    uint64_t bytes = 4;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0)
            return writer_problem(w, "tensor '%s' has a negative dimension %lld", name, (long long)shape[k]);
        if (shape[k] && bytes > (uint64_t)SIZE_MAX / 2 / (uint64_t)shape[k])
            return writer_problem(w, "tensor '%s' is too large", name);
        bytes *= (uint64_t)shape[k];
    }
    if (bytes && !data) return writer_problem(w, "tensor '%s' has NULL data", name);
    *nbytes = (size_t)bytes;
    return 0;
}

void st_writer_add(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data) {
    size_t nbytes = 0;
    if (check_add(w, name, ndim, shape, data, &nbytes)) return;
    w->items = grow(w->items, sizeof *w->items, w->n, &w->cap);
    st_item *it = &w->items[w->n++];
    memset(it, 0, sizeof *it);
    memcpy(it->name, name, strlen(name) + 1);
    it->ndim = ndim;
    for (int k = 0; k < ndim; k++) it->shape[k] = shape[k];
    it->data = data;
    it->nbytes = nbytes;
}

void st_writer_meta(st_writer *w, const char *key, const char *value) {
    if (!key || !value) {
        writer_problem(w, "st_writer_meta got a NULL key or value");
        return;
    }
    if (!utf8_valid(key) || !utf8_valid(value)) {
        writer_problem(w, "the metadata key '%s' or its value is not valid UTF-8", key);
        return;
    }
    // replace an existing key's value, or append
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->keys[i], key)) {
            nn_free(w->vals[i]);
            w->vals[i] = dup_str(value);
            return;
        }
    w->keys = grow(w->keys, sizeof(char *), w->n_meta, &w->cap_keys);
    w->vals = grow(w->vals, sizeof(char *), w->n_meta, &w->cap_vals);
    w->keys[w->n_meta] = dup_str(key);
    w->vals[w->n_meta] = dup_str(value);
    w->n_meta++;
}

void st_writer_seal(st_writer *w) { w->sealed = 1; }

// fsync the directory holding path so the rename is durable; 0 or an errno value
static int sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    char *dir = nn_malloc(len + 1);
    if (slash) memcpy(dir, path, len);
    else dir[0] = '.';
    dir[len] = '\0';
    int e = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) e = errno;
    else {
        // some file systems cannot sync a directory (EINVAL); nothing more can be done there
        if (fsync(fd) != 0 && errno != EINVAL) e = errno;
        close(fd);
    }
    nn_free(dir);
    return e;
}

int st_writer_commit(st_writer *w, const char *path, char *err, size_t errlen) {
    // arguments rejected earlier, and duplicate names
    if (w->problem[0])
        return nn_err(err, errlen, "cannot write safetensors '%s': %s; fix the call to st_writer_add/st_writer_meta",
                      path, w->problem);
    if (w->n > 1) {
        const char **names = nn_malloc((size_t)w->n * sizeof *names);
        for (int i = 0; i < w->n; i++) names[i] = w->items[i].name;
        const char *dup = find_duplicate(names, w->n);
        int r = dup ? nn_err(err, errlen, "cannot write safetensors '%s': the tensor name '%s' was added twice; "
                             "give every tensor a unique name", path, dup) : 0;
        nn_free(names);
        if (r) return r;
    }

    if (w->sealed) {
        uint32_t crc = crc_meta(0, w->keys, w->vals, w->n_meta);
        for (int i = 0; i < w->n; i++)
            crc = crc_tensor(crc, w->items[i].name, w->items[i].ndim, w->items[i].shape, w->items[i].data,
                             w->items[i].nbytes);
        char hex[16];
        snprintf(hex, sizeof hex, "%08x", crc);
        st_writer_meta(w, ST_SEAL_KEY, hex);
    }

    // the header: metadata first, then the tensors with contiguous offsets in the order added
    st_buf h = {0};
    buf_str(&h, "{");
    if (w->n_meta) {
        buf_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i) buf_str(&h, ",");
            buf_json_str(&h, w->keys[i]);
            buf_str(&h, ":");
            buf_json_str(&h, w->vals[i]);
        }
        buf_str(&h, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const st_item *it = &w->items[i];
        if (i || w->n_meta) buf_str(&h, ",");
        buf_json_str(&h, it->name);
        buf_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int k = 0; k < it->ndim; k++) {
            if (k) buf_str(&h, ",");
            buf_u64(&h, (uint64_t)it->shape[k]);
        }
        buf_str(&h, "],\"data_offsets\":[");
        buf_u64(&h, off);
        buf_str(&h, ",");
        off += it->nbytes;
        buf_u64(&h, off);
        buf_str(&h, "]}");
    }
    buf_str(&h, "}");
    // spaces so the data section starts at a multiple of 8
    while ((8 + h.n) % 8) buf_put(&h, " ", 1);
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)h.n >> (8 * k));

    // write and sync the temporary file
    size_t tlen = strlen(path) + 32;
    char *tmp = nn_malloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    int r = 0;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        r = nn_err(err, errlen, "cannot write safetensors '%s': cannot create '%s': %s; check that the directory "
                   "exists and is writable", path, tmp, strerror(errno));
        goto done;
    }
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(h.p, 1, h.n, fp) == h.n;
    for (int i = 0; i < w->n && ok; i++)
        if (w->items[i].nbytes) ok = fwrite(w->items[i].data, 1, w->items[i].nbytes, fp) == w->items[i].nbytes;
    if (ok) ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    int e = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        r = nn_err(err, errlen, "cannot write safetensors '%s': writing '%s' failed: %s; check free disk space, "
                   "quotas and file size limits (the old file, if any, is untouched)", path, tmp, strerror(e));
        remove(tmp);
        goto done;
    }

    // replace path in one step, then make the rename durable
    if (rename(tmp, path) != 0) {
        r = nn_err(err, errlen, "cannot write safetensors '%s': renaming '%s' over it failed: %s; check that the path "
                   "is not a directory and that the directory is writable (the old file, if any, is untouched)",
                   path, tmp, strerror(errno));
        remove(tmp);
        goto done;
    }
    if ((e = sync_dir(path)) != 0)
        r = nn_err(err, errlen, "safetensors '%s' was written, but syncing its directory failed: %s; the new file "
                   "may not survive a crash, check the file system", path, strerror(e));
done:
    nn_free(tmp);
    nn_free(h.p);
    return r;
}

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_meta; i++) {
        nn_free(w->keys[i]);
        nn_free(w->vals[i]);
    }
    nn_free(w->keys);
    nn_free(w->vals);
    nn_free(w->items);
    nn_free(w);
}

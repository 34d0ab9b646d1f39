#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../nn/common.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .npy/.npz code assumes a little-endian host");

static size_t itemsize(npy_dtype t) { return t == NPY_F4 ? 4 : 1; }

static size_t numel(const npy_array *a) {
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= (size_t)a->shape[i];
    return n;
}

// the .npy header (magic, version, length, dict, padding) of a; returns its length
static size_t npy_header(const npy_array *a, char *out, size_t cap) {
    char dict[256], shape[128] = "";
    size_t o = 0;
    for (int i = 0; i < a->ndim; i++) o += (size_t)snprintf(shape + o, sizeof shape - o, "%lld,%s", (long long)a->shape[i], i + 1 < a->ndim ? " " : "");
    if (a->ndim > 1) shape[o - 1] = 0;  // "(3, 4)" but "(5,)"
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     a->dtype == NPY_F4 ? "<f4" : "|u1", shape);
    size_t total = 10 + (size_t)n + 1;
    total = (total + 63) / 64 * 64;
    nn_check(total <= cap, "npy header too long");
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(total - 10);
    memcpy(out + 8, &hl, 2);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', total - 10 - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int npz_write(const char *path, const npy_array *arrays, int n, char *err, size_t errlen) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return nn_err(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
    unsigned char *cd = nn_malloc((size_t)n * (46 + 80)), hdr[30];
    size_t cdlen = 0, off = 0;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const npy_array *a = &arrays[i];
        char head[512], name[80];
        size_t hl = npy_header(a, head, sizeof head), bytes = numel(a) * itemsize(a->dtype);
        int nl = snprintf(name, sizeof name, "%s.npy", a->name);
        uint32_t crc = nn_crc32(nn_crc32(0, head, hl), a->data, bytes);
        size_t size = hl + bytes;
        if (size > 0xFFFFFFF0u) {
            ok = 0;
            break;
        }
        // local header: stored (method 0), 1980-01-01 00:00
        memset(hdr, 0, sizeof hdr);
        put32(hdr, 0x04034b50u), put16(hdr + 4, 20), put16(hdr + 12, 0x21);
        put32(hdr + 14, crc), put32(hdr + 18, (uint32_t)size), put32(hdr + 22, (uint32_t)size), put16(hdr + 26, (uint16_t)nl);
        ok = fwrite(hdr, 1, 30, f) == 30 && fwrite(name, 1, (size_t)nl, f) == (size_t)nl && fwrite(head, 1, hl, f) == hl &&
             (bytes == 0 || fwrite(a->data, 1, bytes, f) == bytes);
        // its central-directory entry
        unsigned char *c = cd + cdlen;
        memset(c, 0, 46);
        put32(c, 0x02014b50u), put16(c + 4, 20), put16(c + 6, 20), put16(c + 14, 0x21);
        put32(c + 16, crc), put32(c + 20, (uint32_t)size), put32(c + 24, (uint32_t)size), put16(c + 28, (uint16_t)nl);
        put32(c + 42, (uint32_t)off);
        memcpy(c + 46, name, (size_t)nl);
        cdlen += 46 + (size_t)nl;
        off += 30 + (size_t)nl + size;
    }
    unsigned char end[22] = {0};
    put32(end, 0x06054b50u), put16(end + 8, (uint16_t)n), put16(end + 10, (uint16_t)n);
    put32(end + 12, (uint32_t)cdlen), put32(end + 16, (uint32_t)off);
    ok = ok && fwrite(cd, 1, cdlen, f) == cdlen && fwrite(end, 1, 22, f) == 22;
    ok = fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    nn_free(cd);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return nn_err(err, errlen, "cannot write '%s': %s", path, ok ? strerror(e) : "write failed (disk full?)");
    }
    return 0;
}

// parse an .npy member (bytes p[0..n)) into a; 0 or -1 with the reason in why
static int npy_parse(const unsigned char *p, size_t n, npy_array *a, char *why, size_t wl) {
    if (n < 10 || memcmp(p, "\x93NUMPY", 6)) return nn_err(why, wl, "not an .npy array (bad magic)");
    size_t hl, start;
    if (p[6] == 1) hl = get16(p + 8), start = 10;
    else if (p[6] == 2 && n >= 12) hl = get32(p + 8), start = 12;
    else return nn_err(why, wl, ".npy version %d.%d is not supported", p[6], p[7]);
    if (start + hl > n || hl > 4096) return nn_err(why, wl, "truncated .npy header");
    char h[4097];
    memcpy(h, p + start, hl);
    h[hl] = 0;
    const char *d = strstr(h, "'descr':"), *fo = strstr(h, "'fortran_order':"), *sh = strstr(h, "'shape':");
    if (!d || !fo || !sh) return nn_err(why, wl, "malformed .npy header");
    if (strstr(d, "'<f4'") == d + strspn(d + 8, " ") + 8) a->dtype = NPY_F4;
    else if (strstr(d, "'|u1'") == d + strspn(d + 8, " ") + 8 || strstr(d, "'|b1'") == d + strspn(d + 8, " ") + 8) a->dtype = NPY_U1;
    else return nn_err(why, wl, "dtype %.12s is not supported (float32 '<f4' or uint8/bool)", d + 8 + strspn(d + 8, " "));
    const char *fv = fo + 16 + strspn(fo + 16, " ");
    if (strncmp(fv, "False", 5) || (fv[5] != ',' && fv[5] != ' ' && fv[5] != '}'))
        return nn_err(why, wl, "'fortran_order' is not False (Fortran-ordered arrays are not supported)");
    const char *q = strchr(sh, '(');
    if (!q) return nn_err(why, wl, "malformed shape");
    a->ndim = 0;
    for (q++; *q && *q != ')';) {
        char *end;
        long long v = strtoll(q, &end, 10);
        if (end == q) {
            q++;
            continue;
        }
        if (v < 0 || a->ndim == NPY_MAX_DIMS) return nn_err(why, wl, "bad or too many dimensions");
        a->shape[a->ndim++] = v;
        q = end;
    }
    // the element count, refused before it can overflow: no dimension may need more than the bytes present
    size_t want = itemsize(a->dtype);
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && want > (n - start - hl) / (size_t)a->shape[i])
            return nn_err(why, wl, "its shape needs more bytes than the member holds (truncated or corrupt)");
        want *= (size_t)a->shape[i];
    }
    if (start + hl + want != n)
        return nn_err(why, wl, "holds %zu data bytes, its shape needs %zu (truncated or corrupt)", n - start - hl, want);
    a->data = p + start + hl;
    return 0;
}

int npz_read(const char *path, npz_file *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return nn_err(err, errlen, "cannot open dataset file '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return nn_err(err, errlen, "dataset file '%s' is not a regular file (a directory?); remove it or give an .npz",
                      path);
    }
    long size = (long)sb.st_size;
    if (size < 22) {
        fclose(fp);
        return nn_err(err, errlen, "'%s' is not an .npz file (too short); it may be truncated", path);
    }
    unsigned char *b = nn_malloc((size_t)size);
    int rd = fread(b, 1, (size_t)size, fp) == (size_t)size;
    fclose(fp);
    char why[256] = "";
    // the end-of-central-directory record, within the last 64 KiB
    long e = -1;
    for (long i = size - 22; i >= 0 && i >= size - 22 - 65535; i--)
        if (get32(b + i) == 0x06054b50u) {
            e = i;
            break;
        }
    int n = e >= 0 ? get16(b + e + 10) : 0;
    size_t cd = e >= 0 ? get32(b + e + 16) : 0;
    npy_array *arr = nn_malloc(sizeof(npy_array) * (n ? n : 1));
    if (!rd) nn_err(why, sizeof why, "read error");
    else if (e < 0) nn_err(why, sizeof why, "no zip directory (not an .npz, or truncated)");
    for (int i = 0; !why[0] && i < n; i++) {
        // the entry's fixed part and its name, extra field and comment must lie before the end record
        if (cd + 46 > (size_t)e || get32(b + cd) != 0x02014b50u ||
            cd + 46 + get16(b + cd + 28) + get16(b + cd + 30) + get16(b + cd + 32) > (size_t)e) {
            nn_err(why, sizeof why, "corrupt zip directory (entry %d runs past its end)", i);
            break;
        }
        uint16_t method = get16(b + cd + 10), nl = get16(b + cd + 28), xl = get16(b + cd + 30), cl = get16(b + cd + 32);
        uint32_t crc = get32(b + cd + 16), csize = get32(b + cd + 20), usize = get32(b + cd + 24), loc = get32(b + cd + 42);
        if (method != 0 || csize != usize) {
            nn_err(why, sizeof why, "member %d is compressed; write datasets with numpy.savez, not savez_compressed", i);
            break;
        }
        if (nl < 5 || nl > 67 || memcmp(b + cd + 46 + nl - 4, ".npy", 4)) {
            nn_err(why, sizeof why, "member %d is not an .npy array", i);
            break;
        }
        memcpy(arr[i].name, b + cd + 46, nl - 4u);
        arr[i].name[nl - 4] = 0;
        // numpy would keep the last of two same-named members, a reader of the first another array: refuse
        for (int j = 0; j < i && !why[0]; j++)
            if (!strcmp(arr[j].name, arr[i].name)) nn_err(why, sizeof why, "member '%s' appears twice", arr[i].name);
        if (why[0]) break;
        if ((size_t)loc + 30 > (size_t)size || get32(b + loc) != 0x04034b50u) {
            nn_err(why, sizeof why, "member '%s': corrupt local header", arr[i].name);
            break;
        }
        size_t data = (size_t)loc + 30 + get16(b + loc + 26) + get16(b + loc + 28);
        if (data > (size_t)e || csize > (size_t)e - data) {
            nn_err(why, sizeof why, "member '%s' is truncated", arr[i].name);
            break;
        }
        if (nn_crc32(0, b + data, csize) != crc) {
            nn_err(why, sizeof why, "member '%s' fails its CRC-32 check (corrupt)", arr[i].name);
            break;
        }
        char w2[200];
        if (npy_parse(b + data, csize, &arr[i], w2, sizeof w2)) {
            nn_err(why, sizeof why, "member '%s': %s", arr[i].name, w2);
            break;
        }
        cd += 46 + (size_t)nl + xl + cl;
    }
    if (why[0]) {
        nn_free(arr);
        nn_free(b);
        return nn_err(err, errlen, "dataset file '%s': %s", path, why);
    }
    *f = (npz_file){.arrays = arr, .n = n, .buf = b};
    return 0;
}

void npz_free(npz_file *f) {
    nn_free(f->arrays);
    nn_free(f->buf);
    memset(f, 0, sizeof *f);
}

const npy_array *npz_find(const npz_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->arrays[i].name, name)) return &f->arrays[i];
    return NULL;
}

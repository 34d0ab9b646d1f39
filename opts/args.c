#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../nn/common.h"

#define HELP_COLUMN 30  // help text starts here unless every option is shorter

// ---------------------------------------------------------------------------------------------
// memory owned by the module: config strings and list arrays, valid until exit

typedef union arena_block {
    union arena_block *next;
    max_align_t align;
} arena_block;

static arena_block *arena_head;

static void arena_free_all(void) {
    while (arena_head) {
        arena_block *next = arena_head->next;
        nn_free(arena_head);
        arena_head = next;
    }
}

static void *arena_alloc(size_t bytes) {
    static int registered;
    if (!registered) {
        nn_check(atexit(arena_free_all) == 0, "args: cannot register the exit handler");
        registered = 1;
    }
    arena_block *b = nn_malloc(sizeof *b + bytes);
    b->next = arena_head;
    arena_head = b;
    return b + 1;
}

static const char *arena_strdup(const char *s) {
    size_t n = strlen(s);
    char *d = arena_alloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

// ---------------------------------------------------------------------------------------------
// the option table: the spec's groups, combined

// every option of the spec's groups, in order
typedef struct {
    const args_opt *o[ARGS_MAX_OPTS];
    int n;
} opt_list;

// the number (from 1) of the group that holds o
static int group_of(const args_spec *spec, const args_opt *o) {
    for (int g = 0; g < ARGS_MAX_GROUPS && spec->groups[g]; g++) {
        const args_opt *p = spec->groups[g];
        while (p->name && p != o) p++;
        if (p == o) return g + 1;
    }
    return 0;
}

// every option of the spec's groups into L after checking them: 0, or -1 with what is wrong with
// the table (a programming mistake) in err
static int gather(const args_spec *spec, opt_list *L, char *err, size_t errlen) {
    L->n = 0;
    if (!spec || !spec->groups[0]) return nn_err(err, errlen, "args: a spec without an option group");
    for (int g = 0; g < ARGS_MAX_GROUPS && spec->groups[g]; g++)
        for (const args_opt *o = spec->groups[g]; o->name; o++) {
            if (!o->name[0] || o->name[0] == '-')
                return nn_err(err, errlen, "args: option name '%s' is empty or starts with '-'", o->name);
            for (const char *c = o->name; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
                    return nn_err(err, errlen, "args: option name '%s' may hold only letters, digits, '-', '_' and '.'",
                                  o->name);
            if (!strcmp(o->name, "help")) return nn_err(err, errlen, "args: --help is built in; do not declare it");
            if (o->type < ARG_INT || o->type > ARG_LIST)
                return nn_err(err, errlen, "args: option --%s has an unknown type %d", o->name, (int)o->type);
            if (!o->ptr) return nn_err(err, errlen, "args: option --%s has no variable", o->name);
            if (o->type == ARG_CHOICE && !(o->choices && o->choices[0]))
                return nn_err(err, errlen, "args: choice option --%s has no choices", o->name);
            for (int i = 0; i < L->n; i++)
                if (!strcmp(L->o[i]->name, o->name))
                    return nn_err(err, errlen, "args: option --%s is declared twice, in option groups %d and %d of '%s'; "
                                  "rename one", o->name, group_of(spec, L->o[i]), g + 1, spec->usage ? spec->usage : "?");
            if (L->n == ARGS_MAX_OPTS) return nn_err(err, errlen, "args: more than %d options in one spec", ARGS_MAX_OPTS);
            L->o[L->n++] = o;
        }
    return 0;
}

int args_check(const args_spec *spec, char *err, size_t errlen) {
    opt_list L;
    return gather(spec, &L, err, errlen);
}

// gather for the functions that cannot report an error: a bad table is fatal
static void gather_or_die(const args_spec *spec, opt_list *L) {
    char err[512];
    nn_check(gather(spec, L, err, sizeof err) == 0, "%s", err);
}

// index of the option called name[0..len), or -1
static int find_opt(const opt_list *L, const char *name, size_t len) {
    for (int i = 0; i < L->n; i++)
        if (strlen(L->o[i]->name) == len && !memcmp(L->o[i]->name, name, len)) return i;
    return -1;
}

// the "config" entry that makes --config load a file
static int is_config_opt(const args_opt *o) { return o->type == ARG_STRING && !strcmp(o->name, "config"); }

// ---------------------------------------------------------------------------------------------
// did-you-mean hints

// optimal string alignment distance (insert, delete, substitute, swap neighbours)
static int edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    enum { MAXL = 64 };
    if (la >= MAXL || lb >= MAXL) return INT_MAX;
    static int d[MAXL][MAXL];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

// keep cand in out when it is closer to name than anything so far (within 2 edits)
static void consider(const char *name, size_t len, const char *prefix, const char *cand, int *best, char *out,
                     size_t outlen) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, cand);
    int d = edit_distance(name, len, full, strlen(full));
    if (d <= 2 && d < (int)len && d < *best) {
        *best = d;
        snprintf(out, outlen, "%s", full);
    }
}

// the closest option name to name[0..len) into out (empty when none is within 2 edits);
// on the command line "help" and "no-FLAG" are candidates too
static void suggest(const opt_list *L, const char *name, size_t len, int cmdline, char *out, size_t outlen) {
    int best = INT_MAX;
    out[0] = 0;
    for (int i = 0; i < L->n; i++) {
        const args_opt *o = L->o[i];
        consider(name, len, "", o->name, &best, out, outlen);
        if (cmdline && o->type == ARG_FLAG) consider(name, len, "no-", o->name, &best, out, outlen);
    }
    if (cmdline) consider(name, len, "", "help", &best, out, outlen);
}

// ---------------------------------------------------------------------------------------------
// values

// strtol over the whole string: 0 ok, -1 malformed, -2 out of range
static int parse_long_str(const char *s, long *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end) return -1;
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

// strtod over the whole string, or strtof (single; a double holds its value exactly): 0 ok, -1
// malformed, -2 overflow (underflow to tiny values is fine)
static int parse_real_str(const char *s, int single, double *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = single ? strtof(s, &end) : strtod(s, &end);
    if (*end) return -1;
    if (errno == ERANGE && isinf(v)) return -2;
    *out = v;
    return 0;
}

// true/yes/on/1 or false/no/off/0, any case: 0 ok, -1 otherwise
static int parse_bool_str(const char *s, int *out) {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

// whether s is one of the '|'-separated choices
static int is_choice(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *c = choices;;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !memcmp(c, s, n)) return 1;
        if (!bar) return 0;
        c = bar + 1;
    }
}

// error for a value not among the choices: lists them and the closest one
static int choice_error(const args_opt *o, const char *val, const char *dash, char *err, size_t errlen) {
    char list[512] = "", hint[128] = "";
    size_t pos = 0;
    int best = INT_MAX;
    for (const char *c = o->choices;;) {
        const char *bar = strchr(c, '|');
        int len = bar ? (int)(bar - c) : (int)strlen(c);
        pos += (size_t)snprintf(list + pos, pos < sizeof list ? sizeof list - pos : 0, "%s%.*s", pos ? ", " : "",
                                len, c);
        if (pos >= sizeof list) pos = sizeof list;
        int d = edit_distance(val, strlen(val), c, (size_t)len);
        if (d <= 2 && d < (int)strlen(val) && d < best) {
            best = d;
            snprintf(hint, sizeof hint, "; did you mean '%.*s'?", len, c);
        }
        if (!bar) break;
        c = bar + 1;
    }
    return nn_err(err, errlen, "invalid value '%s' for %s%s: choose one of %s%s", val, dash, o->name, list, hint);
}

// store val into a scalar option (not a list) after checking it; copy: keep strings in the arena
static int set_value(const args_opt *o, const char *val, const char *dash, int copy, char *err, size_t errlen) {
    switch (o->type) {
    case ARG_INT:
    case ARG_LONG: {
        long v = 0;
        int rc = parse_long_str(val, &v);
        if (rc == -1) return nn_err(err, errlen, "invalid value '%s' for %s%s: expected an integer", val, dash, o->name);
        if (o->type == ARG_INT && !rc && (v < INT_MIN || v > INT_MAX)) rc = -2;
        if (rc == -2)
            return nn_err(err, errlen, "value '%s' for %s%s is out of range (%ld to %ld)", val, dash, o->name,
                          o->type == ARG_INT ? (long)INT_MIN : LONG_MIN, o->type == ARG_INT ? (long)INT_MAX : LONG_MAX);
        if (o->type == ARG_INT) *(int *)o->ptr = (int)v;
        else *(long *)o->ptr = v;
        return 0;
    }
    case ARG_FLOAT:
    case ARG_DOUBLE: {
        double v = 0;
        int rc = parse_real_str(val, o->type == ARG_FLOAT, &v);
        if (!rc && o->type == ARG_FLOAT) *(float *)o->ptr = (float)v;
        else if (!rc) *(double *)o->ptr = v;
        if (rc == -1) return nn_err(err, errlen, "invalid value '%s' for %s%s: expected a number", val, dash, o->name);
        if (rc == -2)
            return nn_err(err, errlen, "value '%s' for %s%s is out of range for a %s", val, dash, o->name,
                          o->type == ARG_FLOAT ? "float" : "double");
        return 0;
    }
    case ARG_FLAG: {
        int v;
        if (parse_bool_str(val, &v))
            return nn_err(err, errlen, "invalid value '%s' for %s%s: expected true or false", val, dash, o->name);
        *(int *)o->ptr = v;
        return 0;
    }
    case ARG_CHOICE:
        if (!is_choice(o->choices, val)) return choice_error(o, val, dash, err, errlen);
        *(const char **)o->ptr = copy ? arena_strdup(val) : val;
        return 0;
    case ARG_STRING:
        *(const char **)o->ptr = copy ? arena_strdup(val) : val;
        return 0;
    case ARG_LIST:
        break;
    }
    nn_fatal("args: set_value called for list option --%s", o->name);
}

// set a list option to its items (first, then rest[0..nrest)), after the current ones when append;
// the array lives in the arena, the items too when copy
static void list_extend(const args_opt *o, const char *first, char *const *rest, int nrest, int append, int copy) {
    const char **old = *(const char ***)o->ptr;
    int nold = 0;
    if (append && old)
        while (old[nold]) nold++;
    int n = nold + (first ? 1 : 0) + nrest;
    const char **a = arena_alloc(sizeof(const char *) * (size_t)(n + 1));
    int k = 0;
    for (int i = 0; i < nold; i++) a[k++] = old[i];
    if (first) a[k++] = copy ? arena_strdup(first) : first;
    for (int i = 0; i < nrest; i++) a[k++] = copy ? arena_strdup(rest[i]) : rest[i];
    a[k] = NULL;
    *(const char ***)o->ptr = a;
}

// ---------------------------------------------------------------------------------------------
// config files

// the next value token at *pp, unquoted in place. whole: an unquoted token runs to the end of the
// line or a comment (trimmed), else to the next whitespace. Returns 0 with *tok set, 1 at the end
// of the value, -1 on a bad quote with the reason in err
static int read_token(char **pp, char **tok, int whole, char *err, size_t errlen) {
    char *p = *pp;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') {
        *pp = p;
        return 1;
    }
    if (*p == '"' || *p == '\'') {
        // quoted: "..." with escapes or '...' as is
        char q = *p++, *dst = p;
        *tok = dst;
        for (;;) {
            if (!*p || *p == '\n') return nn_err(err, errlen, "unterminated quote %c", q);
            if (*p == q) {
                p++;
                break;
            }
            if (q == '"' && *p == '\\') {
                p++;
                switch (*p) {
                case '\\': case '"': *dst++ = *p; break;
                case 'n': *dst++ = '\n'; break;
                case 't': *dst++ = '\t'; break;
                case 'r': *dst++ = '\r'; break;
                default: return nn_err(err, errlen, "unknown escape '\\%c' in a quoted value", *p ? *p : ' ');
                }
                p++;
                continue;
            }
            *dst++ = *p++;
        }
        if (*p && !isspace((unsigned char)*p))
            return nn_err(err, errlen, "unexpected text after a quoted value: '%s'", p);
        *dst = 0;  // dst < p, so the check above saw the original text
        *pp = p;
        return 0;
    }
    *tok = p;
    if (whole) {
        // to the end of the line or a '#' after whitespace, trailing whitespace dropped
        char *end = p;
        for (; *p; p++) {
            if (*p == '#' && isspace((unsigned char)p[-1])) break;
            if (!isspace((unsigned char)*p)) end = p + 1;
        }
        *end = 0;  // end < p or *p == 0, so p still marks the rest
    } else {
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
    }
    *pp = p;
    return 0;
}

// one line of a config file; seen[i] is the line where option i was set, 0 if not yet; skip_unknown:
// pass over the lines of keys the table lacks
static int load_line(const opt_list *L, const char *path, int lineno, char *line, int *seen, int skip_unknown,
                     char *err, size_t errlen) {
    char msg[512];
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (!*p || *p == '#') return 0;

    // the key: letters, digits, '-', '_', '.' before '='
    char *eq = strchr(p, '=');
    if (!eq) return nn_err(err, errlen, "%s:%d: expected 'key = value', got '%.80s'", path, lineno, p);
    char *kend = eq;
    while (kend > p && isspace((unsigned char)kend[-1])) kend--;
    if (kend == p) return nn_err(err, errlen, "%s:%d: missing key before '=' in '%.80s'", path, lineno, p);
    for (const char *c = p; c < kend; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            return nn_err(err, errlen, "%s:%d: malformed key '%.*s'", path, lineno, (int)(kend - p), p);
    size_t klen = (size_t)(kend - p);
    int idx = find_opt(L, p, klen);
    if (idx < 0 && skip_unknown) return 0;
    if (idx < 0) {
        char hint[128];
        suggest(L, p, klen, 0, hint, sizeof hint);
        if (hint[0])
            return nn_err(err, errlen, "%s:%d: unknown key '%.*s'; did you mean '%s'?", path, lineno, (int)klen, p,
                          hint);
        return nn_err(err, errlen, "%s:%d: unknown key '%.*s'", path, lineno, (int)klen, p);
    }
    const args_opt *o = L->o[idx];
    if (is_config_opt(o))
        return nn_err(err, errlen, "%s:%d: 'config' cannot be set inside a config file", path, lineno);
    if (seen[idx])
        return nn_err(err, errlen, "%s:%d: '%s' is already set on line %d", path, lineno, o->name, seen[idx]);
    seen[idx] = lineno;

    // the value
    char *v = eq + 1, *tok = NULL;
    if (o->type == ARG_LIST) {
        // whitespace-separated items, each optionally quoted; none is an empty list
        size_t cap = strlen(v) / 2 + 1, n = 0;
        char **items = nn_malloc(sizeof(char *) * cap);
        int rc;
        while ((rc = read_token(&v, &tok, 0, msg, sizeof msg)) == 0) items[n++] = tok;
        if (rc < 0) {
            nn_free(items);
            return nn_err(err, errlen, "%s:%d: %s in the value of '%s'", path, lineno, msg, o->name);
        }
        list_extend(o, NULL, items, (int)n, 0, 1);
        nn_free(items);
        return 0;
    }
    int rc = read_token(&v, &tok, 1, msg, sizeof msg);
    if (rc < 0) return nn_err(err, errlen, "%s:%d: %s in the value of '%s'", path, lineno, msg, o->name);
    if (rc == 1) {
        // nothing after '=': an empty string, an error for anything else
        if (o->type != ARG_STRING) return nn_err(err, errlen, "%s:%d: missing value for '%s'", path, lineno, o->name);
        tok = "";
    } else {
        char *extra;
        if (read_token(&v, &extra, 1, msg, sizeof msg) != 1)
            return nn_err(err, errlen, "%s:%d: unexpected text after the value of '%s': '%.80s'", path, lineno,
                          o->name, v);
    }
    if (set_value(o, tok, "", 1, msg, sizeof msg)) return nn_err(err, errlen, "%s:%d: %s", path, lineno, msg);
    return 0;
}

// the config file at path into L's variables (skip_unknown: passing over keys L lacks)
static int load_config(const opt_list *L, const char *path, int skip_unknown, char *err, size_t errlen) {
    int seen[ARGS_MAX_OPTS + 1] = {0};
    FILE *f = fopen(path, "r");
    if (!f) return nn_err(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        if ((rc = load_line(L, path, ++lineno, line, seen, skip_unknown, err, errlen))) break;
    }
    if (!rc && ferror(f)) rc = nn_err(err, errlen, "error reading config file '%s': %s", path, strerror(errno));
    free(line);  // from getline
    fclose(f);
    return rc;
}

int args_load_config(const args_spec *spec, const char *path, char *err, size_t errlen) {
    opt_list L;
    if (gather(spec, &L, err, errlen)) return -1;
    return load_config(&L, path, 0, err, errlen);
}

int args_config_value(const char *path, const char *key, char *buf, size_t n, char *err, size_t errlen) {
    const char *v = NULL;
    const args_opt o = {key, ARG_STRING, &v, NULL, NULL, NULL};
    opt_list L = {{&o}, 1};
    if (load_config(&L, path, 1, err, errlen)) return -1;
    if (!v) return 0;
    snprintf(buf, n, "%s", v);
    return 1;
}

// ---------------------------------------------------------------------------------------------
// the command line

int args_parse(const args_spec *spec, int argc, char **argv, char *err, size_t errlen) {
    opt_list L;
    if (gather(spec, &L, err, errlen)) return -1;
    // --help anywhere wins, so the help shows the defaults
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            args_print_help(spec, stdout);
            return 1;
        }

    unsigned char listed[ARGS_MAX_OPTS] = {0};  // lists given on this command line: more values append
    const args_opt *last_flag = NULL;           // for the hint when a value follows a flag
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        char hint[128];

        // positional arguments are not taken
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            if (a[0] == '-' && a[1] && a[1] != '-') {
                size_t n = strcspn(a + 1, "=");
                suggest(&L, a + 1, n, 1, hint, sizeof hint);
                if (hint[0]) return nn_err(err, errlen, "unexpected argument '%s'; did you mean --%s?", a, hint);
            }
            if (last_flag)
                return nn_err(err, errlen, "unexpected argument '%s' (--%s is a flag and takes no value)", a,
                              last_flag->name);
            return nn_err(err, errlen, "unexpected argument '%s'", a);
        }

        // the option, with an inline value after '='
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *inl = eq ? eq + 1 : NULL;
        int idx = find_opt(&L, name, len), negate = 0;
        if (idx < 0 && len > 3 && !strncmp(name, "no-", 3)) {
            int f = find_opt(&L, name + 3, len - 3);
            if (f >= 0 && L.o[f]->type == ARG_FLAG) idx = f, negate = 1;
        }
        if (idx < 0) {
            suggest(&L, name, len, 1, hint, sizeof hint);
            if (hint[0])
                return nn_err(err, errlen, "unknown option --%.*s; did you mean --%s?", (int)len, name, hint);
            return nn_err(err, errlen, "unknown option --%.*s; see --help for the options", (int)len, name);
        }
        const args_opt *o = L.o[idx];
        i++;
        last_flag = NULL;

        // flags: --name, --no-name, --name=BOOL
        if (o->type == ARG_FLAG) {
            if (negate && inl) return nn_err(err, errlen, "--no-%s takes no value", o->name);
            if (inl) {
                if (set_value(o, inl, "--", 0, err, errlen)) return -1;
            } else {
                *(int *)o->ptr = !negate;
            }
            last_flag = o;
            continue;
        }

        // lists: values up to the next --option; "--name=" alone sets an empty list
        if (o->type == ARG_LIST) {
            int j = i;
            while (j < argc && strncmp(argv[j], "--", 2) != 0) j++;
            if (!inl && j == i) return nn_err(err, errlen, "missing value for --%s", o->name);
            const char *first = inl && *inl ? inl : NULL;
            list_extend(o, first, argv + i, j - i, listed[idx], 0);
            listed[idx] = 1;
            i = j;
            continue;
        }

        // everything else takes one value
        const char *val = inl;
        if (!val) {
            if (i >= argc || !strncmp(argv[i], "--", 2)) return nn_err(err, errlen, "missing value for --%s", o->name);
            val = argv[i++];
        }
        if (is_config_opt(o)) {
            *(const char **)o->ptr = val;
            if (load_config(&L, val, 0, err, errlen)) return -1;
            continue;
        }
        if (set_value(o, val, "--", 0, err, errlen)) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// printing values

// shortest %g form of a float that reads back to the same bits
static void fmt_float(char *buf, size_t n, float v) {
    if (isnan(v)) { snprintf(buf, n, "%snan", signbit(v) ? "-" : ""); return; }
    if (isinf(v)) { snprintf(buf, n, "%sinf", v < 0 ? "-" : ""); return; }
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, n, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

// shortest %g form of a double that reads back to the same bits
static void fmt_double(char *buf, size_t n, double v) {
    if (isnan(v)) { snprintf(buf, n, "%snan", signbit(v) ? "-" : ""); return; }
    if (isinf(v)) { snprintf(buf, n, "%sinf", v < 0 ? "-" : ""); return; }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

// whether a string must be quoted to read back as itself
static int needs_quotes(const char *s) {
    if (!*s) return 1;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (isspace(*c) || iscntrl(*c) || *c == '#' || *c == '"' || *c == '\'' || *c == '\\') return 1;
    return 0;
}

// a string as the config reader takes it back: as is or in double quotes with escapes
static void put_string(FILE *out, const char *s) {
    if (!needs_quotes(s)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default: fputc(*c, out);
        }
    }
    fputc('"', out);
}

// the current value of an option; NULL strings and lists print as "none"
static void put_value(FILE *out, const args_opt *o, int config) {
    char buf[64];
    switch (o->type) {
    case ARG_INT: fprintf(out, "%d", *(const int *)o->ptr); break;
    case ARG_LONG: fprintf(out, "%ld", *(const long *)o->ptr); break;
    case ARG_FLOAT: fmt_float(buf, sizeof buf, *(const float *)o->ptr); fputs(buf, out); break;
    case ARG_DOUBLE: fmt_double(buf, sizeof buf, *(const double *)o->ptr); fputs(buf, out); break;
    case ARG_FLAG:
        fputs(*(const int *)o->ptr ? (config ? "true" : "on") : (config ? "false" : "off"), out);
        break;
    case ARG_STRING:
    case ARG_CHOICE: {
        const char *s = *(const char *const *)o->ptr;
        if (s) put_string(out, s);
        else fputs("none", out);
        break;
    }
    case ARG_LIST: {
        const char *const *l = *(const char *const *const *)o->ptr;
        if (!config && (!l || !l[0])) fputs("none", out);
        for (int i = 0; l && l[i]; i++) {
            if (i) fputc(' ', out);
            put_string(out, l[i]);
        }
        break;
    }
    }
}

// ---------------------------------------------------------------------------------------------
// help

// "--name METAVAR" (or "--[no-]name" for flags) into buf; returns its length
static int left_column(const args_opt *o, char *buf, size_t n) {
    if (o->type == ARG_FLAG) return snprintf(buf, n, "--[no-]%s", o->name);
    char meta[64];
    if (o->metavar) {
        snprintf(meta, sizeof meta, "%s", o->metavar);
    } else if (o->type == ARG_INT || o->type == ARG_LONG) {
        snprintf(meta, sizeof meta, "N");
    } else if (o->type == ARG_FLOAT || o->type == ARG_DOUBLE) {
        snprintf(meta, sizeof meta, "X");
    } else {
        // the name in capitals
        size_t k = 0;
        for (const char *c = o->name; *c && k + 1 < sizeof meta; c++)
            meta[k++] = *c == '-' || *c == '.' ? '_' : (char)toupper((unsigned char)*c);
        meta[k] = 0;
    }
    return snprintf(buf, n, "--%s %s%s", o->name, meta, o->type == ARG_LIST ? " ..." : "");
}

void args_print_help(const args_spec *spec, FILE *out) {
    opt_list L;
    gather_or_die(spec, &L);
    if (spec->usage) fprintf(out, "usage: %s\n", spec->usage);
    if (spec->summary) fprintf(out, "\n%s\n", spec->summary);
    fprintf(out, "\noptions:\n");

    // the help column: after the longest left part up to HELP_COLUMN; longer ones get their own line
    char left[256];
    int width = (int)strlen("-h, --help");
    for (int i = 0; i < L.n; i++) {
        int n = left_column(L.o[i], left, sizeof left);
        if (n > width && n <= HELP_COLUMN) width = n;
    }

    for (int i = 0; i < L.n; i++) {
        const args_opt *o = L.o[i];
        int n = left_column(o, left, sizeof left);
        if (n > width) fprintf(out, "  %s\n  %*s  ", left, width, "");
        else fprintf(out, "  %-*s  ", width, left);
        if (o->help && o->help[0]) fprintf(out, "%s ", o->help);
        fputc('(', out);
        if (o->type == ARG_CHOICE) {
            fputs("choices: ", out);
            for (const char *c = o->choices; *c; c++) {
                if (*c == '|') fputs(", ", out);
                else fputc(*c, out);
            }
            fputs("; ", out);
        }
        fputs("default: ", out);
        put_value(out, o, 0);
        fputs(")\n", out);
    }
    fprintf(out, "  %-*s  show this help and exit\n", width, "-h, --help");
}

// ---------------------------------------------------------------------------------------------
// resolved config

// one "key = value" per option; unset strings and lists as comments
static void put_config_lines(const opt_list *L, FILE *f) {
    for (int i = 0; i < L->n; i++) {
        const args_opt *o = L->o[i];
        if (is_config_opt(o)) continue;
        int unset = o->type == ARG_LIST ? !*(const char *const *const *)o->ptr
                    : (o->type == ARG_STRING || o->type == ARG_CHOICE) && !*(const char *const *)o->ptr;
        if (unset) {
            fprintf(f, "# %s is unset\n", o->name);
            continue;
        }
        fprintf(f, "%s = ", o->name);
        put_value(f, o, 1);
        fputc('\n', f);
    }
}

int args_write_config(const args_spec *spec, const char *path, const char *header, char *err, size_t errlen) {
    opt_list L;
    if (gather(spec, &L, err, errlen)) return -1;
    FILE *f = fopen(path, "w");
    if (!f) return nn_err(err, errlen, "cannot write config file '%s': %s", path, strerror(errno));

    // header lines, each made a comment
    for (const char *h = header; h && *h;) {
        size_t n = strcspn(h, "\n");
        if (n && h[0] != '#') fputs("# ", f);
        fwrite(h, 1, n, f);
        fputc('\n', f);
        h += n;
        if (*h) h++;
    }

    put_config_lines(&L, f);
    int bad = ferror(f);
    if (fclose(f) || bad) return nn_err(err, errlen, "error writing config file '%s': %s", path, strerror(errno));
    return 0;
}

int args_parse_command(const args_spec *spec, int argc, char **argv, const char *prog) {
    char err[1024];
    int rc = args_parse(spec, argc, argv, err, sizeof err);
    if (rc < 0) fprintf(stderr, "%s: %s (see %s --help)\n", prog, err, prog);
    return rc == 0 ? -1 : rc > 0 ? 0 : 2;
}

const char *args_peek(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, name, n)) {
            if (argv[i][2 + n] == '=') return argv[i] + 3 + n;
            if (!argv[i][2 + n] && i + 1 < argc) return argv[i + 1];
        }
    return NULL;
}

int args_has_flag(int argc, char **argv, const char *flag) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], flag)) return 1;
    return 0;
}

int args_note_resume(const args_spec *spec, const char *path, const char *commit, const char *note, char *err,
                     size_t errlen) {
    opt_list L;
    if (gather(spec, &L, err, errlen)) return -1;
    char *now = NULL, *old = NULL;
    size_t now_len = 0, old_len = 0;
    FILE *m = open_memstream(&now, &now_len);
    if (!m) return nn_err(err, errlen, "out of memory");
    put_config_lines(&L, m);
    fclose(m);
    // the file's lines, each between newlines, so that a whole line can be searched for
    FILE *f = fopen(path, "r"), *o = open_memstream(&old, &old_len);
    if (!f || !o) {
        if (f) fclose(f);
        if (o) fclose(o);
        free(now), free(old);
        return nn_err(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
    }
    fputc('\n', o);
    for (int c; (c = fgetc(f)) != EOF;) fputc(c, o);
    fputc('\n', o);
    fclose(f);
    fclose(o);
    f = fopen(path, "a");
    if (!f) {
        free(now), free(old);
        return nn_err(err, errlen, "cannot append to config file '%s': %s", path, strerror(errno));
    }
    fprintf(f, "# resumed with " ARGS_COMMIT_TAG "%s\n", commit);
    for (char *line = now; *line;) {
        size_t n = strcspn(line, "\n");
        char *key = nn_malloc(n + 3);
        snprintf(key, n + 3, "\n%.*s\n", (int)n, line);
        int skip = line[0] == '#' ? 2 : 0;  // "# x is unset"
        if (!strstr(old, key)) fprintf(f, "#   with %.*s\n", (int)(n - skip), line + skip);
        free(key);
        line += n + (line[n] == '\n');
    }
    if (note) fprintf(f, "#   %s\n", note);
    free(now), free(old);
    int bad = ferror(f);
    if (fclose(f) || bad) return nn_err(err, errlen, "error writing config file '%s': %s", path, strerror(errno));
    return 0;
}

#include "snu_xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"

// the parser's cursor over the whole file
typedef struct {
    const char *path, *s;
    size_t pos, len;
    int line;
    char *err;
    size_t errlen;
} xml_cursor;

static int fail(xml_cursor *c, const char *what) {
    return nn_err(c->err, c->errlen, "%s:%d: %s", c->path, c->line, what);
}

static int at_end(const xml_cursor *c) { return c->pos >= c->len; }
static char peek(const xml_cursor *c) { return at_end(c) ? 0 : c->s[c->pos]; }
static int starts(const xml_cursor *c, const char *lit) { return !strncmp(c->s + c->pos, lit, strlen(lit)); }

static void advance(xml_cursor *c, size_t n) {
    for (size_t i = 0; i < n && !at_end(c); i++) c->line += c->s[c->pos++] == '\n';
}

static void skip_space(xml_cursor *c) {
    while (!at_end(c) && isspace((unsigned char)peek(c))) advance(c, 1);
}

// skip to just past the literal end; -1 if the file ends first
static int skip_past(xml_cursor *c, const char *end) {
    while (!at_end(c) && !starts(c, end)) advance(c, 1);
    if (at_end(c)) return -1;
    advance(c, strlen(end));
    return 0;
}

static int name_char(char ch) { return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.' || ch == ':'; }

static char *read_name(xml_cursor *c) {
    size_t start = c->pos;
    while (!at_end(c) && name_char(peek(c))) advance(c, 1);
    size_t n = c->pos - start;
    if (n == 0) return NULL;
    char *name = nn_malloc(n + 1);
    memcpy(name, c->s + start, n);
    return name;
}

// a quoted attribute value with &amp; &lt; &gt; &quot; &apos; decoded
static char *read_value(xml_cursor *c) {
    char q = peek(c);
    if (q != '"' && q != '\'') return NULL;
    advance(c, 1);
    size_t start = c->pos;
    while (!at_end(c) && peek(c) != q) advance(c, 1);
    if (at_end(c)) return NULL;
    size_t n = c->pos - start, k = 0;
    advance(c, 1);
    char *v = nn_malloc(n + 1);
    static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n;) {
        int done = 0;
        for (size_t e = 0; e < sizeof ents / sizeof ents[0] && !done; e++) {
            size_t el = strlen(ents[e].ent);
            if (i + el <= n && !strncmp(c->s + start + i, ents[e].ent, el)) v[k++] = ents[e].ch, i += el, done = 1;
        }
        if (!done) v[k++] = c->s[start + i++];
    }
    return v;
}

// append p to a pointer array of n entries (capacity doubles at powers of two)
static void *push(void *arr, int n, void *p) {
    void **a = arr;
    if ((n & (n - 1)) == 0) {
        void **b = nn_malloc(sizeof(void *) * (size_t)(n ? 2 * n : 1));
        if (n) memcpy(b, a, sizeof(void *) * (size_t)n);
        nn_free(a);
        a = b;
    }
    a[n] = p;
    return a;
}

// skip text, comments, <?...?> and <!...>; stop at the next element tag or the end
static int skip_misc(xml_cursor *c) {
    for (;;) {
        while (!at_end(c) && peek(c) != '<') advance(c, 1);
        if (at_end(c)) return 0;
        if (starts(c, "<!--")) {
            if (skip_past(c, "-->")) return fail(c, "a comment is not closed (no '-->')");
        } else if (starts(c, "<?")) {
            if (skip_past(c, "?>")) return fail(c, "a '<?' declaration is not closed");
        } else if (starts(c, "<!")) {
            if (skip_past(c, ">")) return fail(c, "a '<!' declaration is not closed");
        } else {
            return 0;
        }
    }
}

// one element and its children, the cursor at its '<'
static snu_xml_el *read_element(xml_cursor *c, int depth) {
    if (depth > 64) return fail(c, "elements nested more than 64 deep"), NULL;
    snu_xml_el *e = nn_malloc(sizeof *e);
    e->line = c->line;
    advance(c, 1);
    if (!(e->name = read_name(c))) return fail(c, "expected an element name after '<'"), snu_xml_free(e), NULL;
    for (;;) {
        skip_space(c);
        if (starts(c, "/>")) {
            advance(c, 2);
            return e;
        }
        if (peek(c) == '>') {
            advance(c, 1);
            break;
        }
        char msg[256];
        char *key = read_name(c);
        if (!key) {
            snprintf(msg, sizeof msg, "in <%s>: expected an attribute name, '>' or '/>'%s", e->name,
                     at_end(c) ? " (the file ends inside the tag)" : "");
            return fail(c, msg), snu_xml_free(e), NULL;
        }
        skip_space(c);
        if (peek(c) != '=') {
            snprintf(msg, sizeof msg, "in <%s>: expected '=' after attribute '%s'", e->name, key);
            nn_free(key);
            return fail(c, msg), snu_xml_free(e), NULL;
        }
        advance(c, 1);
        skip_space(c);
        char *value = read_value(c);
        if (!value) {
            snprintf(msg, sizeof msg, "in <%s>: attribute '%s' needs a quoted value", e->name, key);
            nn_free(key);
            return fail(c, msg), snu_xml_free(e), NULL;
        }
        e->keys = push(e->keys, e->nattr, key);
        e->values = push(e->values, e->nattr, value);
        e->nattr++;
    }
    // children until the matching end tag
    for (;;) {
        if (skip_misc(c)) return snu_xml_free(e), NULL;
        char msg[256];
        if (at_end(c)) {
            snprintf(msg, sizeof msg, "the file ends before </%s> (opened on line %d)", e->name, e->line);
            return fail(c, msg), snu_xml_free(e), NULL;
        }
        if (starts(c, "</")) {
            advance(c, 2);
            char *name = read_name(c);
            skip_space(c);
            int ok = name && !strcmp(name, e->name) && peek(c) == '>';
            snprintf(msg, sizeof msg, "expected </%s> (opened on line %d), found </%s", e->name, e->line,
                     name ? name : "");
            nn_free(name);
            if (!ok) return fail(c, msg), snu_xml_free(e), NULL;
            advance(c, 1);
            return e;
        }
        snu_xml_el *child = read_element(c, depth + 1);
        if (!child) return snu_xml_free(e), NULL;
        e->child = push(e->child, e->nchild++, child);
    }
}

snu_xml_el *snu_xml_read(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err(err, errlen, "cannot open '%s': %s", path, strerror(errno)), NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = nn_malloc((size_t)(len > 0 ? len : 0) + 1);
    size_t got = len > 0 ? fread(s, 1, (size_t)len, f) : 0;
    fclose(f);
    if (len < 0 || got != (size_t)len) return nn_free(s), nn_err(err, errlen, "cannot read '%s'", path), NULL;
    xml_cursor c = {.path = path, .s = s, .len = got, .line = 1, .err = err, .errlen = errlen};
    snu_xml_el *root = NULL;
    if (!skip_misc(&c)) {
        if (at_end(&c)) fail(&c, "no XML element in the file");
        else root = read_element(&c, 0);
    }
    if (root && (skip_misc(&c) || !at_end(&c))) {
        if (!at_end(&c)) fail(&c, "content after the root element");
        snu_xml_free(root);
        root = NULL;
    }
    nn_free(s);
    return root;
}

void snu_xml_free(snu_xml_el *e) {
    if (!e) return;
    for (int i = 0; i < e->nattr; i++) nn_free(e->keys[i]), nn_free(e->values[i]);
    for (int i = 0; i < e->nchild; i++) snu_xml_free(e->child[i]);
    nn_free(e->keys), nn_free(e->values), nn_free(e->child), nn_free(e->name);
    nn_free(e);
}

const char *snu_xml_attr(const snu_xml_el *e, const char *key) {
    for (int i = 0; i < e->nattr; i++)
        if (!strcmp(e->keys[i], key)) return e->values[i];
    return NULL;
}

const snu_xml_el *snu_xml_child(const snu_xml_el *e, const char *name) {
    for (int i = 0; i < e->nchild; i++)
        if (!strcmp(e->child[i]->name, name)) return e->child[i];
    return NULL;
}

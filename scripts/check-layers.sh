#!/bin/sh
# The folders depend downward only (docs/architecture.md, "Data flow"): every #include "..." of a
# source file must name a header of its own folder or of a folder in a lower layer. Prints each
# upward or sideways include as FILE:LINE: ... and exits 1 when there is any, else exits 0.
# `make test` runs it. usage: sh scripts/check-layers.sh [DIR]   (DIR: the source tree; default:
# the tree this script is in)
cd "${1:-$(dirname "$0")/..}" || exit 2

# a folder's layer: a folder may include its own headers and those of folders with a lower number
# (the same number would be a sideways arrow, refused too)
LAYERS="nn=0 opts=1 physics=2 worldmodel=2 envs=3 policy=4 experiments=5 bench=6 cli=7 tests=8"

files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.cu' '*.cuh' 2>/dev/null) ||
    files=$(find . -name '*.[ch]' -o -name '*.cu' -o -name '*.cuh' | sed 's|^\./||')
# only the files there now (the index may still list deleted ones)
files=$(for f in $files; do [ -f "$f" ] && echo "$f"; done)
[ -n "$files" ] || { echo "check-layers: no sources found"; exit 2; }
# shellcheck disable=SC2086
awk -v layers="$LAYERS" '
BEGIN {
    n = split(layers, kv, " ")
    for (i = 1; i <= n; i++) { split(kv[i], p, "="); layer[p[1]] = p[2] }
}
# the path a/b/../c/./d as a/c/d; "" when it leaves the tree
function normal(path,    parts, out, k, i, m) {
    m = split(path, parts, "/")
    k = 0
    for (i = 1; i <= m; i++) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == "..") { if (k == 0) return ""; k--; continue }
        out[++k] = parts[i]
    }
    path = out[1]
    for (i = 2; i <= k; i++) path = path "/" out[i]
    return path
}
FNR == 1 {
    from = FILENAME; sub(/\/.*/, "", from)
    dir = FILENAME; sub(/\/[^\/]*$/, "", dir)
    top = FILENAME !~ /\//  # a file at the top belongs to no folder
    if (!top && !(from in layer)) {
        printf "%s: folder %s has no layer; add it to LAYERS in scripts/check-layers.sh and to docs/architecture.md\n", FILENAME, from
        bad = 1
    }
}
!top && (from in layer) && /^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    path = normal(dir "/" inc)
    if (path == "" || path !~ /\// || (getline tmp < path) < 0) next  # not a file of the tree (build/version.h via -I)
    close(path)
    to = path; sub(/\/.*/, "", to)
    if (to == from) next
    if (!(to in layer) || layer[to] >= layer[from]) {
        printf "%s:%d: %s (layer %d) includes %s (%s, layer %s); a folder may include only its own headers and those of lower layers\n", FILENAME, FNR, from, layer[from], path, to, (to in layer) ? layer[to] : "none"
        bad = 1
    }
}
END {
    if (bad) { print "check-layers: upward or sideways includes (the layers: scripts/check-layers.sh, docs/architecture.md)"; exit 1 }
    print "check-layers: every quoted #include names its own folder or a lower layer"
}' $files

#include "snu_convert.h"

#include <errno.h>
#include <math.h>
#include <mujoco/mujoco.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "snu_xml.h"

// DiffRL's filter: the lower-body nodes its SNU task keeps
static const char *const kept_names[] = {"Pelvis", "FemurR", "TibiaR", "TalusR", "FootThumbR", "FootPinkyR",
                                         "FemurL", "TibiaL", "TalusL", "FootThumbL", "FootPinkyL"};
enum { N_KEPT = sizeof kept_names / sizeof kept_names[0], MAX_NODES = 64 };

// the task's physical constants (dflex SNUHumanoidEnv / Skeleton loader, shac-and-tasks.md §1.2)
static const double start_height = 1.0;          // pelvis above the ground at the start
static const double max_body_mass = 15.0;        // joint parameters scale with mass / 15
static const double joint_stiffness = 5.0;       // × sqrt(mass / 15), to the start pose
static const double joint_damping = 2.0;
static const double limit_kd = 10.0;             // × mass / 15, unconditional on revolute joints
static const double joint_armature = 0.05;
static const double contact_ke = 5e3, contact_kf = 1e3, contact_mu = 0.5;
static const int n_support = 24;                 // the 4 bottom corners of the 6 foot boxes

typedef enum { JNT_FREE, JNT_BALL, JNT_REVOLUTE } jnt_kind;

typedef struct {
    char name[64], parent[64];
    int line;
    double mass, size[3];
    double body_q[4], body_t[3];    // box frame in MASS's world (y-up)
    double joint_q[4], joint_t[3];  // joint frame in MASS's world = the body frame here
    jnt_kind joint;
    double axis[3], lower, upper;
    int kept, parent_index;
} snu_node;

typedef struct {
    char name[128];
    double f0;
    int n;            // waypoints
    int *node;        // n node indices
    double *p;        // n × 3, MASS's world
} snu_muscle;

typedef struct {
    const char *path;
    char *err;
    size_t errlen;
} ctx;

// "PATH:LINE: message" for element e (a missing or malformed entry), returns -1
static int bad(const ctx *c, const snu_xml_el *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const ctx *c, const snu_xml_el *e, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_err(c->err, c->errlen, "%s:%d: %s", c->path, e ? e->line : 0, msg);
}

// between lo and hi numbers of attribute key into out; returns how many, or -1 with a message
static int numbers(const ctx *c, const snu_xml_el *e, const char *key, int lo, int hi, double *out) {
    const char *s = snu_xml_attr(e, key);
    char what[128];
    if (hi > lo) snprintf(what, sizeof what, "%d to %d", lo, hi);
    else snprintf(what, sizeof what, "%d", lo);
    if (!s) return bad(c, e, "<%s> has no attribute '%s'", e->name, key);
    int n = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s) break;
        if (errno == ERANGE || !isfinite(v)) return bad(c, e, "attribute '%s' of <%s> holds a number out of range", key, e->name);
        if (n < hi) out[n] = v;
        n++;
        s = end;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s) return bad(c, e, "attribute '%s' of <%s> is not a list of numbers", key, e->name);
    if (n < lo || n > hi) return bad(c, e, "attribute '%s' of <%s> has %d numbers, expected %s", key, e->name, n, what);
    return n;
}

static int copy_name(const ctx *c, const snu_xml_el *e, const char *key, char *out, size_t n) {
    const char *s = snu_xml_attr(e, key);
    if (!s) return bad(c, e, "<%s> has no attribute '%s'", e->name, key);
    if (strlen(s) >= n || !*s) return bad(c, e, "attribute '%s' of <%s> is empty or too long", key, e->name);
    for (const char *p = s; *p; p++)
        if (*p == '"' || *p == '<' || *p == '>' || *p == '&' || *p == ' ')
            return bad(c, e, "attribute '%s' of <%s> holds a character not allowed in a name", key, e->name);
    snprintf(out, n, "%s", s);
    return 0;
}

// a <Transformation> child: rotation (row-major 3×3, world = R·local) as a unit quaternion, and
// the translation
static int transformation(const ctx *c, const snu_xml_el *e, double q[4], double t[3]) {
    const snu_xml_el *x = snu_xml_child(e, "Transformation");
    double R[9];
    if (!x) return bad(c, e, "<%s> has no <Transformation>", e->name);
    if (numbers(c, x, "linear", 9, 9, R) < 0 || numbers(c, x, "translation", 3, 3, t) < 0) return -1;
    // MASS's matrices are rounded to 4 digits (and one femur entry is off by 0.2): the quaternion is
    // MuJoCo's mju_mat2Quat, normalised, as dflex takes quat_from_matrix of the same numbers
    mju_mat2Quat(q, R);
    return 0;
}

static int find_node(const snu_node *nodes, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(nodes[i].name, name)) return i;
    return -1;
}

static int read_skeleton(const char *path, snu_node *nodes, int *count, char *err, size_t errlen) {
    ctx c = {path, err, errlen};
    snu_xml_el *root = snu_xml_read(path, err, errlen);
    if (!root) return -1;
    int n = 0, rc = 0;
    if (strcmp(root->name, "Skeleton")) rc = bad(&c, root, "the root element is <%s>, expected <Skeleton>", root->name);
    for (int i = 0; !rc && i < root->nchild; i++) {
        const snu_xml_el *e = root->child[i];
        if (strcmp(e->name, "Node")) continue;
        if (n == MAX_NODES) {
            rc = bad(&c, e, "more than 64 <Node>s");
            break;
        }
        snu_node *d = &nodes[n];
        memset(d, 0, sizeof *d);
        d->line = e->line;
        const snu_xml_el *body = snu_xml_child(e, "Body"), *joint = snu_xml_child(e, "Joint");
        if (copy_name(&c, e, "name", d->name, sizeof d->name) || copy_name(&c, e, "parent", d->parent, sizeof d->parent)) {
            rc = -1;
            break;
        }
        if (find_node(nodes, n, d->name) >= 0) {
            rc = bad(&c, e, "node '%s' appears twice", d->name);
            break;
        }
        if (!body || !joint) {
            rc = bad(&c, e, "node '%s' has no <%s>", d->name, body ? "Joint" : "Body");
            break;
        }
        const char *btype = snu_xml_attr(body, "type"), *jtype = snu_xml_attr(joint, "type");
        if (!btype || strcmp(btype, "Box")) {
            rc = bad(&c, body, "node '%s': body type '%s' is not supported (only Box)", d->name, btype ? btype : "(none)");
            break;
        }
        if (numbers(&c, body, "mass", 1, 1, &d->mass) < 0 || numbers(&c, body, "size", 3, 3, d->size) < 0 ||
            transformation(&c, body, d->body_q, d->body_t) || transformation(&c, joint, d->joint_q, d->joint_t)) {
            rc = -1;
            break;
        }
        if (!(d->mass > 0) || !(d->size[0] > 0 && d->size[1] > 0 && d->size[2] > 0)) {
            rc = bad(&c, body, "node '%s': mass and box size must be positive", d->name);
            break;
        }
        if (!jtype || (strcmp(jtype, "Free") && strcmp(jtype, "Ball") && strcmp(jtype, "Revolute"))) {
            rc = bad(&c, joint, "node '%s': joint type '%s' is not supported (Free, Ball, Revolute)", d->name,
                     jtype ? jtype : "(none)");
            break;
        }
        d->joint = !strcmp(jtype, "Free") ? JNT_FREE : !strcmp(jtype, "Ball") ? JNT_BALL : JNT_REVOLUTE;
        if (d->joint == JNT_REVOLUTE) {
            // dflex reads the first number of lower and upper
            double v[3];
            if (numbers(&c, joint, "axis", 3, 3, d->axis) < 0 || numbers(&c, joint, "lower", 1, 3, v) < 0) {
                rc = -1;
                break;
            }
            d->lower = v[0];
            if (numbers(&c, joint, "upper", 1, 3, v) < 0) {
                rc = -1;
                break;
            }
            d->upper = v[0];
            if (mju_normalize3(d->axis) < 1e-9 || !(d->lower < d->upper)) {
                rc = bad(&c, joint, "node '%s': a revolute joint needs a non-zero axis and lower < upper", d->name);
                break;
            }
        }
        n++;
    }
    snu_xml_free(root);
    *count = n;
    return rc;
}

// keep the lower body; every kept node's parent must be kept (the pelvis, the root, excepted)
static int filter_nodes(const char *path, snu_node *nodes, int n, char *err, size_t errlen) {
    ctx c = {path, err, errlen};
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < N_KEPT; k++) nodes[i].kept |= !strcmp(nodes[i].name, kept_names[k]);
        nodes[i].parent_index = find_node(nodes, i, nodes[i].parent);
    }
    int root = find_node(nodes, n, "Pelvis");
    if (root < 0 || nodes[root].joint != JNT_FREE || strcmp(nodes[root].parent, "None"))
        return nn_err(err, errlen, "%s: the skeleton needs a node 'Pelvis' with parent \"None\" and a Free joint", path);
    for (int i = 0; i < n; i++) {
        const snu_node *d = &nodes[i];
        if (!d->kept || i == root) continue;
        snu_xml_el fake = {.line = d->line};
        if (d->parent_index < 0)
            return bad(&c, &fake, "node '%s': its parent '%s' is not an earlier node", d->name, d->parent);
        if (!nodes[d->parent_index].kept)
            return bad(&c, &fake, "node '%s' is kept but its parent '%s' is not", d->name, d->parent);
        if (d->joint == JNT_FREE) return bad(&c, &fake, "node '%s': only the pelvis may have a Free joint", d->name);
    }
    return 0;
}

static void free_muscles(snu_muscle *m, int n) {
    for (int i = 0; i < n; i++) nn_free(m[i].node), nn_free(m[i].p);
    nn_free(m);
}

// the muscles whose every waypoint is on a kept node, in file order
static int read_muscles(const char *path, const snu_node *nodes, int nn, snu_muscle **out, int *count, int *dropped,
                        char *err, size_t errlen) {
    ctx c = {path, err, errlen};
    snu_xml_el *root = snu_xml_read(path, err, errlen);
    if (!root) return -1;
    int rc = 0, n = 0;
    *dropped = 0;
    snu_muscle *m = nn_malloc(sizeof(snu_muscle) * (size_t)(root->nchild + 1));
    if (strcmp(root->name, "Muscle")) rc = bad(&c, root, "the root element is <%s>, expected <Muscle>", root->name);
    for (int i = 0; !rc && i < root->nchild; i++) {
        const snu_xml_el *e = root->child[i];
        if (strcmp(e->name, "Unit")) continue;
        snu_muscle *u = &m[n];
        memset(u, 0, sizeof *u);
        if (copy_name(&c, e, "name", u->name, sizeof u->name) || numbers(&c, e, "f0", 1, 1, &u->f0) < 0) {
            rc = -1;
            break;
        }
        if (!(u->f0 > 0)) {
            rc = bad(&c, e, "muscle '%s': f0 must be positive", u->name);
            break;
        }
        for (int k = 0; k < n; k++)
            if (!strcmp(m[k].name, u->name)) rc = bad(&c, e, "muscle '%s' appears twice", u->name);
        u->node = nn_malloc(sizeof(int) * (size_t)(e->nchild + 1));
        u->p = nn_malloc(sizeof(double) * 3 * (size_t)(e->nchild + 1));
        int all_kept = 1;
        for (int k = 0; !rc && k < e->nchild; k++) {
            const snu_xml_el *w = e->child[k];
            if (strcmp(w->name, "Waypoint")) continue;
            const char *body = snu_xml_attr(w, "body");
            int node = body ? find_node(nodes, nn, body) : -1;
            if (node < 0) {
                rc = bad(&c, w, "muscle '%s': waypoint on unknown body '%s'", u->name, body ? body : "(none)");
                break;
            }
            if (numbers(&c, w, "p", 3, 3, u->p + 3 * u->n) < 0) {
                rc = -1;
                break;
            }
            all_kept &= nodes[node].kept;
            u->node[u->n++] = node;
        }
        if (!rc && u->n < 2) rc = bad(&c, e, "muscle '%s' has fewer than 2 waypoints", u->name);
        if (rc || !all_kept) {
            nn_free(u->node), nn_free(u->p);
            *dropped += !rc;
            continue;
        }
        n++;
    }
    snu_xml_free(root);
    if (!rc && n == 0) rc = nn_err(err, errlen, "%s: no muscle lies entirely on the lower body", path);
    if (rc) return free_muscles(m, n), -1;
    *out = m;
    *count = n;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// geometry: MASS is y-up facing +z (left +x); the model is z-up facing +x (left +y). Every vector
// v becomes P·v = (v_z, v_x, v_y) and every rotation P·R·Pᵀ, so body frames stay parallel to the
// world at the start pose and the pelvis's free-joint quaternion starts at the identity.

static void to_zup(const double v[3], double out[3]) {
    double t[3] = {v[2], v[0], v[1]};
    memcpy(out, t, sizeof t);
}

static void quat_to_zup(const double q[4], double out[4]) {
    out[0] = q[0];
    to_zup(q + 1, out + 1);
}

// p (MASS world) in the frame (q, t): conj(q)·(p − t)
static void to_local(const double q[4], const double t[3], const double p[3], double out[3]) {
    double d[3] = {p[0] - t[0], p[1] - t[1], p[2] - t[2]}, qc[4];
    mju_negQuat(qc, q);
    mju_rotVecQuat(out, d, qc);
}

// numbers as %.6g with no "-0"
static void put_vec(FILE *f, const double *v, int n) {
    for (int i = 0; i < n; i++) {
        double x = fabs(v[i]) < 5e-13 ? 0.0 : v[i];
        fprintf(f, "%s%.6g", i ? " " : "", x);
    }
}

static int is_identity(const double q[4]) {
    return fabs(q[0] - 1) < 1e-12 && fabs(q[1]) < 1e-12 && fabs(q[2]) < 1e-12 && fabs(q[3]) < 1e-12;
}

static void indent(FILE *f, int depth) { fprintf(f, "%*s", 4 + 2 * depth, ""); }

// a body, its joint, box, waypoint sites and children, depth first in file order (dflex's order)
static void write_body(FILE *f, const snu_node *nodes, int nn, int i, const snu_muscle *mus, int nm, int depth) {
    const snu_node *d = &nodes[i];
    double pos[3], q[4] = {1, 0, 0, 0}, tmp[4];
    if (d->parent_index < 0) {
        pos[0] = pos[1] = 0, pos[2] = start_height;
    } else {
        const snu_node *p = &nodes[d->parent_index];
        to_local(p->joint_q, p->joint_t, d->joint_t, tmp);
        to_zup(tmp, pos);
        double pc[4];
        mju_negQuat(pc, p->joint_q);
        mju_mulQuat(tmp, pc, d->joint_q);
        quat_to_zup(tmp, q);
    }
    indent(f, depth);
    fprintf(f, "<body name=\"%s\" pos=\"", d->name);
    put_vec(f, pos, 3);
    if (!is_identity(q)) fprintf(f, "\" quat=\""), put_vec(f, q, 4);
    fprintf(f, "\">\n");
    double s = d->mass / max_body_mass;
    indent(f, depth + 1);
    if (d->joint == JNT_FREE) {
        fprintf(f, "<joint name=\"%s\" type=\"free\" stiffness=\"0\" damping=\"0\" armature=\"0\"/>\n", d->name);
    } else if (d->joint == JNT_BALL) {
        fprintf(f, "<joint name=\"%s\" type=\"ball\" stiffness=\"%.6g\" damping=\"%.6g\"/>\n", d->name,
                joint_stiffness * sqrt(s), joint_damping);
    } else {
        double axis[3];
        to_zup(d->axis, axis);
        fprintf(f, "<joint name=\"%s\" type=\"hinge\" axis=\"", d->name);
        put_vec(f, axis, 3);
        fprintf(f, "\" limited=\"true\" range=\"%.6g %.6g\" stiffness=\"%.6g\" damping=\"%.6g\"/>\n", d->lower, d->upper,
                joint_stiffness * sqrt(s), joint_damping + limit_kd * s);
    }
    // the box, relative to the joint frame
    double gpos[3], gq[4], jc[4], half[3] = {d->size[0] / 2, d->size[1] / 2, d->size[2] / 2}, hz[3];
    to_local(d->joint_q, d->joint_t, d->body_t, tmp);
    to_zup(tmp, gpos);
    mju_negQuat(jc, d->joint_q);
    mju_mulQuat(tmp, jc, d->body_q);
    quat_to_zup(tmp, gq);
    to_zup(half, hz);
    indent(f, depth + 1);
    fprintf(f, "<geom name=\"%s\" size=\"", d->name);
    put_vec(f, hz, 3);
    fprintf(f, "\" pos=\"");
    put_vec(f, gpos, 3);
    if (!is_identity(gq)) fprintf(f, "\" quat=\""), put_vec(f, gq, 4);
    fprintf(f, "\" mass=\"%.6g\"/>\n", d->mass);
    // the waypoints on this body, muscle by muscle
    for (int k = 0; k < nm; k++)
        for (int w = 0; w < mus[k].n; w++) {
            if (mus[k].node[w] != i) continue;
            double sp[3];
            to_local(d->joint_q, d->joint_t, mus[k].p + 3 * w, tmp);
            to_zup(tmp, sp);
            indent(f, depth + 1);
            fprintf(f, "<site name=\"%s_%d\" pos=\"", mus[k].name, w);
            put_vec(f, sp, 3);
            fprintf(f, "\"/>\n");
        }
    for (int c = 0; c < nn; c++)
        if (nodes[c].kept && nodes[c].parent_index == i) write_body(f, nodes, nn, c, mus, nm, depth + 1);
    indent(f, depth);
    fprintf(f, "</body>\n");
}

static void write_header(FILE *f, snu_force_law law, const snu_stats *st, const char *skeleton, const char *muscles) {
    const char *base_s = strrchr(skeleton, '/'), *base_m = strrchr(muscles, '/');
    base_s = base_s ? base_s + 1 : skeleton;
    base_m = base_m ? base_m + 1 : muscles;
    fprintf(f,
            "<!--\n"
            "  snu_humanoid.xml: the PWM paper's SNU Humanoid (DiffRL/dflex \"SNUHumanoidEnv\", PWM fork\n"
            "  imgeorgiev/DiffRL): the lower body of the MASS human model driven by %d muscles.\n"
            "  GENERATED by `build/pwm snu-convert --skeleton %s --muscles %s --force-law %s`\n"
            "  (envs/snu_convert.c); edit the converter, not this file.\n"
            "\n"
            "  Data: MASS (Muscle-Actuated Skeletal System), S. Lee, M. Park, K. Lee, J. Lee, \"Scalable\n"
            "  Muscle-Actuated Human Simulation and Control\", SIGGRAPH 2019, https://github.com/lsw9021/MASS,\n"
            "  files human.xml and muscle284.xml, Copyright 2019 Seunghwan Lee, licensed under the Apache\n"
            "  License 2.0 (http://www.apache.org/licenses/LICENSE-2.0). This model is derived from them:\n"
            "  its body frames, boxes, masses, joints, limits, muscle waypoints and strengths are MASS's\n"
            "  numbers, transformed as described below.\n"
            "\n"
            "  Kept (as DiffRL's filter): %d nodes (Pelvis; Femur, Tibia, Talus, FootThumb, FootPinky, right\n"
            "  then left), %.4g kg; %d of %d muscles (those with every waypoint on a kept node), %d waypoints,\n"
            "  %d segments of which %d join two bodies; f0 %.4g..%.4g N (sum %.4g N).\n"
            "  Frames: MASS is y-up facing +z; here z-up facing +x (MASS (x, y, z) -> (z, x, y)). Each body\n"
            "  frame is its MASS joint frame; the pelvis starts 1 m above the ground (dflex start_height)\n"
            "  with its free-joint quaternion at the identity (dflex's start rotation, pi/2 about y, also\n"
            "  turns MASS's +z to the walking direction +x). One box per node with the node's mass.\n"
            "  Joints: ball (femurs, tali: no limits, as in dflex), hinge (tibias 0..2.3 rad, toes +-0.6 rad;\n"
            "  MuJoCo limit constraints for dflex's 1e3 m/15 penalty spring); with s = node mass / 15,\n"
            "  stiffness 5 sqrt(s) to the start pose, damping 2 (hinges 2 + 10 s: dflex's unconditional limit\n"
            "  damping), armature 0.05; the free joint has none of them.\n"
            "  Muscles: a site per waypoint (named MUSCLE_k) on its body, a spatial tendon through them, one\n"
            "  actuator per muscle in file order (action j drives muscle j). dflex's muscle applies equal and\n"
            "  opposite forces of magnitude T along each segment joining two bodies; the spatial tendon's\n"
            "  generalised force (dL/dq)^T F is the same sum, same-body segments giving nothing in both.\n"
            "  Force law (%s): %s\n"
            "  f0 is also kept in each actuator's user value.\n"
            "  Contact: every box against the ground, no self-collision. dflex ke %.4g, kf %.4g, mu %.4g over\n"
            "  m = %.4g kg and %d support points (the 4 bottom corners of the 6 foot boxes), MuJoCo direct\n"
            "  solref (-k, -b): k = n ke / m = %.6g; b = 2 sqrt(k) = %.6g (critical damping; n kf / m = %.4g\n"
            "  would make the velocity reference overshoot at 1/240 s: b dt = %.3g > 1), solimp 0.0001 0.99\n"
            "  0.01: the impedance ramps from 0 at first touch to 0.99 at 1 cm depth, so a new contact's force\n"
            "  starts at zero as dflex's penalty force does (docs/tasks.md; docs/physics.md, \"Contact\n"
            "  activation\"). Joint limits ramp the same way over 0.01 rad.\n"
            "  Integrator: MuJoCo Euler at 1/240 s (the task takes 4 steps per 1/60 s control step; dflex 48\n"
            "  substeps). docs/tasks.md, section SNU Humanoid, lists the deviations from dflex and MASS.\n"
            "-->\n",
            st->muscles, base_s, base_m, law == SNU_LAW_FORK ? "fork" : "nvlabs", st->nodes, st->mass, st->muscles,
            st->muscles + st->muscles_dropped, st->waypoints, st->segments, st->crossing, st->f0_min, st->f0_max,
            st->f0_sum, law == SNU_LAW_FORK ? "fork" : "nvlabs",
            law == SNU_LAW_FORK
                ? "the PWM fork's signed law: tendon force = -clip(a, -1, 1) 0.36 f0\n"
                  "  (gain -0.36 f0: a > 0 pulls, a < 0 pushes, a = 0 gives no force). The NVlabs pull-only law is\n"
                  "  `--force-law nvlabs`."
                : "NVlabs' pull-only law: tendon force = -(0.5 a + 0.5) 0.36 f0\n"
                  "  (gain -0.18 f0, affine bias -0.18 f0: a = -1 gives no force, a = 0 half, a = 1 full).",
            contact_ke, contact_kf, contact_mu, st->mass, n_support, st->contact_k, st->contact_b,
            n_support * contact_kf / st->mass, n_support * contact_kf / st->mass / 240.0);
}

static int write_model(const char *out_path, snu_force_law law, const snu_node *nodes, int nn, const snu_muscle *mus,
                       int nm, const snu_stats *st, const char *skeleton, const char *muscles, char *err,
                       size_t errlen) {
    FILE *f = fopen(out_path, "w");
    if (!f) return nn_err(err, errlen, "cannot write '%s': %s", out_path, strerror(errno));
    write_header(f, law, st, skeleton, muscles);
    fprintf(f,
            "<mujoco model=\"pwm-snu-humanoid\">\n"
            "  <compiler angle=\"radian\" inertiafromgeom=\"true\"/>\n"
            "  <size nuser_actuator=\"1\"/>\n"
            "  <option timestep=\"0.004166666666666667\" integrator=\"Euler\" gravity=\"0 0 -9.81\"/>\n"
            "  <default>\n"
            "    <joint armature=\"%.6g\" limited=\"false\" solimplimit=\"0.0001 0.99 0.01\"/>\n"
            "    <geom type=\"box\" condim=\"3\" friction=\"%.6g 0.005 0.0001\" contype=\"1\" conaffinity=\"0\"\n"
            "          solref=\"%.6g %.6g\" solimp=\"0.0001 0.99 0.01\" rgba=\"0.6 0.6 0.9 1\"/>\n"
            "    <site size=\"0.005\" rgba=\"0.8 0.2 0.2 1\"/>\n"
            "    <tendon rgba=\"0.8 0.2 0.2 1\" width=\"0.003\"/>\n"
            "    <general ctrllimited=\"true\" ctrlrange=\"-1 1\" dyntype=\"none\" gaintype=\"fixed\" biastype=\"%s\"/>\n"
            "  </default>\n"
            "  <worldbody>\n"
            "    <geom name=\"floor\" type=\"plane\" size=\"100 100 0.1\" contype=\"1\" conaffinity=\"1\"/>\n",
            joint_armature, contact_mu, -st->contact_k, -st->contact_b, law == SNU_LAW_FORK ? "none" : "affine");
    for (int i = 0; i < nn; i++)
        if (nodes[i].kept && nodes[i].parent_index < 0) write_body(f, nodes, nn, i, mus, nm, 0);
    fprintf(f, "  </worldbody>\n  <tendon>\n");
    for (int k = 0; k < nm; k++) {
        fprintf(f, "    <spatial name=\"%s\">", mus[k].name);
        for (int w = 0; w < mus[k].n; w++) fprintf(f, "<site site=\"%s_%d\"/>", mus[k].name, w);
        fprintf(f, "</spatial>\n");
    }
    fprintf(f, "  </tendon>\n  <actuator>\n");
    for (int k = 0; k < nm; k++) {
        double full = SNU_STRENGTH_SCALE * mus[k].f0;
        if (law == SNU_LAW_FORK)
            fprintf(f, "    <general name=\"%s\" tendon=\"%s\" gainprm=\"%.9g\" user=\"%.9g\"/>\n", mus[k].name,
                    mus[k].name, -full, mus[k].f0);
        else
            fprintf(f, "    <general name=\"%s\" tendon=\"%s\" gainprm=\"%.9g\" biasprm=\"%.9g 0 0\" user=\"%.9g\"/>\n",
                    mus[k].name, mus[k].name, -0.5 * full, -0.5 * full, mus[k].f0);
    }
    fprintf(f, "  </actuator>\n</mujoco>\n");
    int failed = ferror(f);
    if (fclose(f) || failed) return nn_err(err, errlen, "cannot write '%s': %s", out_path, strerror(errno));
    return 0;
}

int snu_force_law_parse(const char *name) {
    return !strcmp(name, "fork") ? SNU_LAW_FORK : !strcmp(name, "nvlabs") ? SNU_LAW_NVLABS : -1;
}

int snu_convert(const char *skeleton_path, const char *muscle_path, snu_force_law law, const char *out_path,
                snu_stats *stats, char *err, size_t errlen) {
    snu_node *nodes = nn_malloc(sizeof(snu_node) * MAX_NODES);
    snu_muscle *mus = NULL;
    int nn = 0, nm = 0, dropped = 0, rc = 0;
    if (read_skeleton(skeleton_path, nodes, &nn, err, errlen) || filter_nodes(skeleton_path, nodes, nn, err, errlen) ||
        read_muscles(muscle_path, nodes, nn, &mus, &nm, &dropped, err, errlen)) {
        nn_free(nodes);
        return -1;
    }
    snu_stats st = {.muscles = nm, .muscles_dropped = dropped, .f0_min = INFINITY, .f0_max = 0};
    for (int i = 0; i < nn; i++) {
        st.nodes += nodes[i].kept;
        st.nodes_dropped += !nodes[i].kept;
        st.mass += nodes[i].kept ? nodes[i].mass : 0.0;
    }
    for (int k = 0; k < nm; k++) {
        st.waypoints += mus[k].n;
        st.segments += mus[k].n - 1;
        for (int w = 1; w < mus[k].n; w++) st.crossing += mus[k].node[w] != mus[k].node[w - 1];
        st.f0_min = fmin(st.f0_min, mus[k].f0);
        st.f0_max = fmax(st.f0_max, mus[k].f0);
        st.f0_sum += mus[k].f0;
    }
    st.contact_k = n_support * contact_ke / st.mass;
    st.contact_b = 2.0 * sqrt(st.contact_k);
    rc = write_model(out_path, law, nodes, nn, mus, nm, &st, skeleton_path, muscle_path, err, errlen);
    if (!rc && stats) *stats = st;
    free_muscles(mus, nm);
    nn_free(nodes);
    return rc;
}

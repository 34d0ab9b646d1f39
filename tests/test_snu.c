// The SNU Humanoid: the MASS converter (on a small synthetic skeleton, and on the MASS files when
// ../shared/reference/snu holds them), the committed model's dimensions, moment arms and force
// laws, its start distribution, and its gradient-step Jacobians against plain finite differences.
// The observation and reward derivatives are checked with the other tasks' in test_envs.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../envs/env.h"
#include "../envs/snu_convert.h"
#include "../nn/common.h"
#include "test.h"

// the MASS data: $PWM_SNU_DATA, else the shared reference folder beside the repository
static const char *snu_data_dir(void) {
    const char *dir = getenv("PWM_SNU_DATA");
    return dir && *dir ? dir : "../shared/reference/snu";
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static mjModel *load_model(const char *path) {
    char err[1000];
    mjModel *m = mj_loadXML(path, NULL, err, sizeof err);
    CHECK(m, "%s: %s", path, err);
    return m;
}

static mjModel *load_task_model(void) {
    char path[1024];
    env_model_path(env_find("snu-humanoid"), path, sizeof path);
    return load_model(path);
}

// a 4-node skeleton in MASS's format (y-up): pelvis, right femur (ball), tibia (revolute) and a
// spine that the lower-body filter drops; muscle B reaches the spine and is dropped with it
static const char mini_skeleton[] =
    "<Skeleton name=\"Mini\">\n"
    "  <Node name=\"Pelvis\" parent=\"None\">\n"
    "    <Body type=\"Box\" mass=\"10\" size=\"0.2 0.1 0.1\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Body>\n"
    "    <Joint type=\"Free\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Joint>\n"
    "  </Node>\n"
    "  <Node name=\"FemurR\" parent=\"Pelvis\">\n"
    "    <Body type=\"Box\" mass=\"5\" size=\"0.1 0.4 0.1\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"-0.1 0.75 0\"/></Body>\n"
    "    <Joint type=\"Ball\" lower=\"-1 -1 -1\" upper=\"1 1 1\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"-0.1 0.95 0\"/></Joint>\n"
    "  </Node>\n"
    "  <Node name=\"TibiaR\" parent=\"FemurR\">\n"
    "    <Body type=\"Box\" mass=\"3\" size=\"0.1 0.4 0.1\"><Transformation linear=\"1 0 0 0 -1 0 0 0 -1\" translation=\"-0.1 0.3 0\"/></Body>\n"
    "    <Joint type=\"Revolute\" axis=\"1 0 0\" lower=\"0\" upper=\"2\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"-0.1 0.52 0\"/></Joint>\n"
    "  </Node>\n"
    "  <!-- dropped by the lower-body filter -->\n"
    "  <Node name=\"Spine\" parent=\"Pelvis\">\n"
    "    <Body type=\"Box\" mass=\"4\" size=\"0.1 0.1 0.1\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1.15 0\"/></Body>\n"
    "    <Joint type=\"Ball\"><Transformation linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1.1 0\"/></Joint>\n"
    "  </Node>\n"
    "</Skeleton>\n";

static const char mini_muscles[] =
    "<Muscle>\n"
    "  <Unit name=\"A\" f0=\"100\" lm=\"1\" lt=\"0.2\" pen_angle=\"0\" lmax=\"-0.1\">\n"
    "    <Waypoint body=\"Pelvis\" p=\"-0.1 1.0 0.05\"/>\n"
    "    <Waypoint body=\"FemurR\" p=\"-0.1 0.8 0.06\"/>\n"
    "    <Waypoint body=\"TibiaR\" p=\"-0.1 0.45 0.05\"/>\n"
    "  </Unit>\n"
    "  <Unit name=\"B\" f0=\"200\" lm=\"1\" lt=\"0.2\" pen_angle=\"0\" lmax=\"-0.1\">\n"
    "    <Waypoint body=\"Pelvis\" p=\"0 1.05 0\"/>\n"
    "    <Waypoint body=\"Spine\" p=\"0 1.15 0\"/>\n"
    "  </Unit>\n"
    "  <Unit name=\"C\" f0=\"300\" lm=\"1\" lt=\"0.2\" pen_angle=\"0\" lmax=\"-0.1\">\n"
    "    <Waypoint body=\"FemurR\" p=\"-0.1 0.7 -0.05\"/>\n"
    "    <Waypoint body=\"TibiaR\" p=\"-0.1 0.4 -0.05\"/>\n"
    "  </Unit>\n"
    "</Muscle>\n";

// convert the mini skeleton with a law; returns the model file's path in out
static void convert_mini(snu_force_law law, char *out, size_t n, snu_stats *st) {
    char skel[300], mus[300], err[1024];
    snprintf(skel, sizeof skel, "%s/mini_human.xml", test_tmpdir());
    snprintf(mus, sizeof mus, "%s/mini_muscles.xml", test_tmpdir());
    snprintf(out, n, "%s/mini_%s.xml", test_tmpdir(), law == SNU_LAW_FORK ? "fork" : "nvlabs");
    write_file(skel, mini_skeleton);
    write_file(mus, mini_muscles);
    CHECK(!snu_convert(skel, mus, law, out, st, err, sizeof err), "%s", err);
}

// the joints a tendon spans: those of the bodies on the tree paths between consecutive waypoint
// bodies (spans[jnt] = 1)
static void spanned_joints(const mjModel *m, int tendon, int *spans) {
    memset(spans, 0, sizeof(int) * m->njnt);
    int adr = m->tendon_adr[tendon], num = m->tendon_num[tendon];
    for (int w = 0; w + 1 < num; w++) {
        int a = m->site_bodyid[m->wrap_objid[adr + w]], b = m->site_bodyid[m->wrap_objid[adr + w + 1]];
        // walk the deeper body up until both meet; every body passed contributes its joints
        while (a != b) {
            int da = 0, db = 0;
            for (int x = a; x; x = m->body_parentid[x]) da++;
            for (int x = b; x; x = m->body_parentid[x]) db++;
            int *up = da >= db ? &a : &b;
            for (int j = 0; j < m->body_jntnum[*up]; j++) spans[m->body_jntadr[*up] + j] = 1;
            *up = m->body_parentid[*up];
        }
    }
}

static int dofs_of(const mjModel *m, int jnt) {
    return m->jnt_type[jnt] == mjJNT_FREE ? 6 : m->jnt_type[jnt] == mjJNT_BALL ? 3 : 1;
}

// every muscle has a moment arm above 1 mm about some joint its tendon spans and none (below
// 1e-12) about the joints it does not span. actuator_moment is dense in 2.2.2 and, with gear 1,
// the tendon's ∂L/∂q.
static void check_moment_arms(const mjModel *m, const mjData *d) {
    int *spans = nn_malloc(sizeof(int) * m->njnt);
    for (int a = 0; a < m->nu; a++) {
        int t = m->actuator_trnid[2 * a];
        CHECK(m->actuator_trntype[a] == mjTRN_TENDON && m->actuator_gear[6 * a] == 1.0, "actuator %d: not on a tendon with gear 1", a);
        spanned_joints(m, t, spans);
        double best = 0;
        for (int j = 0; j < m->njnt; j++) {
            double norm = 0;
            for (int k = 0; k < dofs_of(m, j); k++) norm += pow(d->actuator_moment[(size_t)a * m->nv + m->jnt_dofadr[j] + k], 2);
            norm = sqrt(norm);
            if (spans[j]) best = fmax(best, norm);
            else CHECK(norm < 1e-12, "tendon %s: moment %g about joint %s, which it does not span",
                       mj_id2name(m, mjOBJ_TENDON, t), norm, mj_id2name(m, mjOBJ_JOINT, j));
        }
        CHECK(best > 1e-3, "tendon %s: largest moment arm %g m about the joints it spans",
              mj_id2name(m, mjOBJ_TENDON, t), best);
    }
    nn_free(spans);
}

// actuator forces at activation a for every muscle follow the law, and qfrc_actuator equals
// dflex's muscle: equal and opposite forces of magnitude T along each segment joining two bodies
static void check_force_law(const mjModel *m, mjData *d, snu_force_law law, double a) {
    for (int j = 0; j < m->nu; j++) d->ctrl[j] = a;
    mj_forward(m, d);
    double *qfrc = nn_malloc(sizeof(double) * m->nv);
    for (int j = 0; j < m->nu; j++) {
        double f0 = m->actuator_user[(size_t)j * m->nuser_actuator];
        double pull = law == SNU_LAW_FORK ? a : 0.5 * a + 0.5;  // dflex's activation, ≥ 0 pulls
        CHECK(m->actuator_trntype[j] == mjTRN_TENDON && m->actuator_trnid[2 * j] == j, "actuator %d not on tendon %d", j, j);
        // the model file holds gains and f0 to 9 significant digits
        CHECK_CLOSE(d->actuator_force[j], -SNU_STRENGTH_SCALE * f0 * pull, 1e-8, 1e-9);
        // the segments of tendon j, as dflex applies them
        int adr = m->tendon_adr[j], num = m->tendon_num[j];
        double T = SNU_STRENGTH_SCALE * f0 * pull, zero[3] = {0, 0, 0};
        for (int w = 0; w + 1 < num; w++) {
            int s0 = m->wrap_objid[adr + w], s1 = m->wrap_objid[adr + w + 1];
            int b0 = m->site_bodyid[s0], b1 = m->site_bodyid[s1];
            if (b0 == b1) continue;
            double u[3], f[3];
            mju_sub3(u, d->site_xpos + 3 * s1, d->site_xpos + 3 * s0);
            mju_normalize3(u);
            mju_scl3(f, u, T);
            mj_applyFT(m, d, f, zero, d->site_xpos + 3 * s0, b0, qfrc);
            mju_scl3(f, u, -T);
            mj_applyFT(m, d, f, zero, d->site_xpos + 3 * s1, b1, qfrc);
        }
    }
    double scale = 0;
    for (int i = 0; i < m->nv; i++) scale = fmax(scale, fabs(qfrc[i]));
    for (int i = 0; i < m->nv; i++) CHECK_CLOSE(d->qfrc_actuator[i], qfrc[i], 0, 1e-8 * (1 + scale));
    nn_free(qfrc);
}

// a pose away from the start: the task's reset distribution
static void random_pose(const mjModel *m, mjData *d, unsigned long seed) {
    const env_task *t = env_find("snu-humanoid");
    nn_rng r;
    nn_rng_init(&r, seed, 0);
    mj_resetData(m, d);
    t->reset(t, m, d, &r);
    mj_forward(m, d);
}

TEST(dims_and_muscle_count) {
    const env_task *t = env_find("snu-humanoid");
    CHECK(t && t->obs_dim == 53 && t->act_dim == 152 && t->episode_len == 1000, "snu-humanoid task dims");
    mjModel *m = load_task_model();
    CHECK(m->nq == 29 && m->nv == 24 && m->nu == 152 && m->ntendon == 152 && m->na == 0,
          "nq %d nv %d nu %d ntendon %d na %d", m->nq, m->nv, m->nu, m->ntendon, m->na);
    CHECK(m->nbody == 12 && m->njnt == 11 && m->nsite == 636, "bodies %d joints %d sites %d", m->nbody, m->njnt, m->nsite);
    int balls = 0, hinges = 0;
    for (int j = 0; j < m->njnt; j++) balls += m->jnt_type[j] == mjJNT_BALL, hinges += m->jnt_type[j] == mjJNT_HINGE;
    CHECK(m->jnt_type[0] == mjJNT_FREE && balls == 4 && hinges == 6, "joints: %d ball, %d hinge", balls, hinges);
    double mass = 0;
    for (int b = 1; b < m->nbody; b++) mass += m->body_mass[b];
    CHECK_CLOSE(mass, 37.0, 1e-9, 0);
    mj_deleteModel(m);
    // the physics layer differentiates it through nv generalised-force columns
    char err[1024], path[1024];
    env_model_path(t, path, sizeof path);
    ph_config c = ph_config_default();
    c.substeps = 4;
    ph_model *pm = ph_load(path, &c, err, sizeof err);
    CHECK(pm, "%s", err);
    CHECK(pm->force_space && pm->use_mjd && pm->calls_per_step == 1 + 48 + 1 + 24 + 1,
          "force space %d, calls per step %d", pm->force_space, pm->calls_per_step);
    ph_free(pm);
}

TEST(every_muscle_has_a_moment_arm) {
    // at the start pose and at a random start; measured: every muscle's largest moment arm is at
    // least 2.8 mm (2.9 mm at seed 7's start)
    mjModel *m = load_task_model();
    mjData *d = mj_makeData(m);
    mj_forward(m, d);
    check_moment_arms(m, d);
    random_pose(m, d, 7);
    check_moment_arms(m, d);
    mj_deleteData(d);
    mj_deleteModel(m);
}

TEST(committed_model_follows_the_fork_law) {
    mjModel *m = load_task_model();
    mjData *d = mj_makeData(m);
    CHECK(m->nuser_actuator >= 1, "f0 not stored in the actuators' user values");
    random_pose(m, d, 3);
    check_force_law(m, d, SNU_LAW_FORK, 0.0);
    check_force_law(m, d, SNU_LAW_FORK, 1.0);
    check_force_law(m, d, SNU_LAW_FORK, -1.0);
    check_force_law(m, d, SNU_LAW_FORK, 0.37);
    // full activation: −0.36·f0 along each path; f0 from MASS spans 45..1793 N
    double f0min = INFINITY, f0max = 0;
    for (int j = 0; j < m->nu; j++) {
        f0min = fmin(f0min, m->actuator_user[j * m->nuser_actuator]);
        f0max = fmax(f0max, m->actuator_user[j * m->nuser_actuator]);
    }
    CHECK(f0min == 45.0 && fabs(f0max - 1793.0) < 1.0, "f0 range %g..%g", f0min, f0max);
    mj_deleteData(d);
    mj_deleteModel(m);
}

TEST(converter_on_a_small_skeleton) {
    // both force laws: zero, full and negative activation; kept and dropped nodes and muscles
    for (int law = SNU_LAW_FORK; law <= SNU_LAW_NVLABS; law++) {
        char path[400];
        snu_stats st;
        convert_mini((snu_force_law)law, path, sizeof path, &st);
        CHECK(st.nodes == 3 && st.nodes_dropped == 1 && st.muscles == 2 && st.muscles_dropped == 1 && st.waypoints == 5 &&
                  st.crossing == 3 && st.mass == 18.0 && st.f0_min == 100.0 && st.f0_max == 300.0,
              "stats: nodes %d/%d muscles %d/%d waypoints %d crossing %d", st.nodes, st.nodes_dropped, st.muscles,
              st.muscles_dropped, st.waypoints, st.crossing);
        mjModel *m = load_model(path);
        mjData *d = mj_makeData(m);
        CHECK(m->nu == 2 && m->ntendon == 2 && m->nq == 7 + 4 + 1 && m->nbody == 4, "mini model: nu %d nq %d", m->nu, m->nq);
        // z-up: the pelvis 1 m up, the femur 5 cm below and 10 cm to the right (−y), the knee axis y
        mj_forward(m, d);
        CHECK_CLOSE(d->xpos[3 * 1 + 2], 1.0, 0, 1e-12);
        CHECK_CLOSE(d->xpos[3 * 2 + 1], -0.1, 0, 1e-12);
        CHECK_CLOSE(d->xpos[3 * 2 + 2], 0.95, 0, 1e-12);
        CHECK(m->jnt_axis[3 * 2 + 1] == 1.0, "knee axis not y");
        check_moment_arms(m, d);
        // muscle C runs parallel to the tibia, 5 cm behind the knee: a 5 cm moment arm
        CHECK_CLOSE(fabs(d->actuator_moment[1 * m->nv + m->jnt_dofadr[2]]), 0.05, 1e-9, 0);
        for (int a = -1; a <= 1; a++) check_force_law(m, d, (snu_force_law)law, a);
        // pull-only under NVlabs' law: −1 gives no force, 0 half of full
        for (int j = 0; j < 2; j++) d->ctrl[j] = -1.0;
        mj_forward(m, d);
        double f0 = law == SNU_LAW_FORK ? 100 : 0;
        CHECK_CLOSE(d->actuator_force[0], 0.36 * f0, 0, 1e-9);
        mj_deleteData(d);
        mj_deleteModel(m);
    }
}

TEST(converter_errors_are_clear) {
    char skel[300], mus[300], out[300], err[1024];
    snprintf(skel, sizeof skel, "%s/bad_human.xml", test_tmpdir());
    snprintf(mus, sizeof mus, "%s/bad_muscles.xml", test_tmpdir());
    snprintf(out, sizeof out, "%s/bad_out.xml", test_tmpdir());
    write_file(mus, mini_muscles);
    // a missing file
    CHECK(snu_convert("/nonexistent/human.xml", mus, SNU_LAW_FORK, out, NULL, err, sizeof err) &&
              strstr(err, "/nonexistent/human.xml") && strstr(err, "cannot open"), "missing file: %s", err);
    struct { const char *text, *want; } cases[] = {
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\">\n", ":3: the file ends before </Node>"},
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\"></Nod>\n</Skeleton>", ":2: expected </Node>"},
        {"<Skeleton>\n<Node name=Pelvis parent=\"None\"/>\n</Skeleton>", "needs a quoted value"},
        {"<Muscle/>", "expected <Skeleton>"},
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\">\n<Body type=\"Box\" size=\"1 1 1\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Body>\n<Joint type=\"Free\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Joint></Node></Skeleton>",
         ":3: <Body> has no attribute 'mass'"},
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\">\n<Body type=\"Box\" mass=\"1\" size=\"1 x 1\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Body>\n<Joint type=\"Free\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Joint></Node></Skeleton>",
         "attribute 'size' of <Body> is not a list of numbers"},
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\">\n<Body type=\"Box\" mass=\"1\" size=\"1 1\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Body>\n<Joint type=\"Free\"><Transformation "
         "linear=\"1 0 0 0 1 0 0 0 1\" translation=\"0 1 0\"/></Joint></Node></Skeleton>",
         "has 2 numbers, expected 3"},
        {"<Skeleton>\n<Node name=\"Pelvis\" parent=\"None\">\n<Body type=\"Capsule\" mass=\"1\" size=\"1 1 1\"/>"
         "<Joint type=\"Free\"/></Node></Skeleton>", "body type 'Capsule' is not supported"},
        {"<Skeleton></Skeleton>", "needs a node 'Pelvis'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(skel, cases[i].text);
        CHECK(snu_convert(skel, mus, SNU_LAW_FORK, out, NULL, err, sizeof err) && strstr(err, cases[i].want) &&
                  strstr(err, "bad_human.xml"),
              "case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
    }
    // a waypoint on a body the skeleton does not have
    write_file(skel, mini_skeleton);
    write_file(mus, "<Muscle>\n<Unit name=\"X\" f0=\"1\">\n<Waypoint body=\"Pelvis\" p=\"0 1 0\"/>\n"
                    "<Waypoint body=\"Femur\" p=\"0 1 0\"/></Unit></Muscle>");
    CHECK(snu_convert(skel, mus, SNU_LAW_FORK, out, NULL, err, sizeof err) && strstr(err, "bad_muscles.xml:4:") &&
              strstr(err, "unknown body 'Femur'"), "unknown body: %s", err);
    // an unwritable output
    write_file(mus, mini_muscles);
    CHECK(snu_convert(skel, mus, SNU_LAW_FORK, "/nonexistent/dir/out.xml", NULL, err, sizeof err) &&
              strstr(err, "cannot write"), "unwritable output: %s", err);
}

TEST(converter_reproduces_the_committed_model) {
    char skel[600], mus[600], out[300], err[1024], committed[1024];
    snprintf(skel, sizeof skel, "%s/human.xml", snu_data_dir());
    snprintf(mus, sizeof mus, "%s/muscle284.xml", snu_data_dir());
    if (!nn_file_exists(skel) || !nn_file_exists(mus))
        test_skip("no MASS data in %s (set PWM_SNU_DATA to the folder holding human.xml and muscle284.xml)",
                  snu_data_dir());
    snprintf(out, sizeof out, "%s/snu_fork.xml", test_tmpdir());
    snu_stats st;
    CHECK(!snu_convert(skel, mus, SNU_LAW_FORK, out, &st, err, sizeof err), "%s", err);
    // the figures of shac-and-tasks.md §1.3
    CHECK(st.nodes == 11 && st.muscles == 152 && st.muscles_dropped == 132 && st.waypoints == 636 && st.segments == 484 &&
              st.crossing == 198 && fabs(st.mass - 37.0) < 1e-9,
          "nodes %d muscles %d/%d waypoints %d segments %d crossing %d mass %g", st.nodes, st.muscles,
          st.muscles_dropped, st.waypoints, st.segments, st.crossing, st.mass);
    env_model_path(env_find("snu-humanoid"), committed, sizeof committed);
    FILE *a = fopen(out, "rb"), *b = fopen(committed, "rb");
    CHECK(a && b, "cannot read %s or %s", out, committed);
    int same = 1, ca, cb;
    do {
        ca = fgetc(a), cb = fgetc(b);
        same = ca == cb;
    } while (same && ca != EOF);
    fclose(a);
    fclose(b);
    CHECK(same, "%s differs from the converter's output; regenerate it with build/pwm snu-convert", committed);
    // NVlabs' pull-only law on the full model
    snprintf(out, sizeof out, "%s/snu_nvlabs.xml", test_tmpdir());
    CHECK(!snu_convert(skel, mus, SNU_LAW_NVLABS, out, NULL, err, sizeof err), "%s", err);
    mjModel *m = load_model(out);
    mjData *d = mj_makeData(m);
    random_pose(m, d, 5);
    for (int a_ = -1; a_ <= 1; a_++) check_force_law(m, d, SNU_LAW_NVLABS, a_);
    mj_deleteData(d);
    mj_deleteModel(m);
}

TEST(start_distribution) {
    // pelvis 1 m up facing +x, unit ball quaternions, hinges within ±0.2 of 0, velocities ±0.25
    const env_task *t = env_find("snu-humanoid");
    mjModel *m = load_task_model();
    mjData *d = mj_makeData(m);
    nn_rng r;
    nn_rng_init(&r, 11, 0);
    double max_hinge = 0, max_tilt = 0, mean_z = 0;
    int N = 300;
    for (int k = 0; k < N; k++) {
        mj_resetData(m, d);
        t->reset(t, m, d, &r);
        mean_z += d->qpos[2] / N;
        for (int j = 1; j < m->njnt; j++) {
            const double *q = d->qpos + m->jnt_qposadr[j];
            if (m->jnt_type[j] == mjJNT_BALL) {
                CHECK_CLOSE(mju_norm(q, 4), 1.0, 0, 1e-12);
                max_tilt = fmax(max_tilt, 2 * acos(fmin(1.0, fabs(q[0]))));
            } else {
                max_hinge = fmax(max_hinge, fabs(q[0]));
            }
        }
        for (int i = 0; i < m->nv; i++) CHECK(fabs(d->qvel[i]) <= 0.25, "velocity %g", d->qvel[i]);
    }
    CHECK(max_hinge <= 0.2 && max_hinge > 0.18, "hinge noise %g", max_hinge);
    CHECK(max_tilt > 0.5 && max_tilt < 1.0, "ball-joint rotations up to %g rad", max_tilt);
    CHECK_CLOSE(mean_z, 1.0, 0, 0.02);
    // termination below 0.46 m
    d->qpos[2] = 0.45;
    CHECK(t->terminated(t, m, d), "not terminated at 0.45 m");
    d->qpos[2] = 0.47;
    CHECK(!t->terminated(t, m, d), "terminated at 0.47 m");
    mj_deleteData(d);
    mj_deleteModel(m);
}

TEST(reward_on_a_hand_made_state) {
    // upright facing +x at the origin: up = 1, heading = 1; no height term; L1 penalty on a
    env_batch *e;
    char err[1024];
    const env_task *t = env_find("snu-humanoid");
    CHECK((e = env_batch_new(t, NULL, NULL, 1, 1, 0, err, sizeof err)), "%s", err);
    mjData *d = e->b->d[0];
    mj_resetData(e->pm->m, d);
    d->qpos[2] = 0.5;
    d->qvel[0] = 1.3;
    mj_forward(e->pm->m, d);
    double a[152], pen = 0;
    for (int j = 0; j < 152; j++) a[j] = 0.9 * sin(j), pen += fabs(a[j]);
    CHECK_CLOSE(t->reward(t, e->pm->m, d, NULL, a, NULL, NULL, NULL), 1.3 + 0.1 + 1.0 - 0.001 * pen, 1e-12, 1e-12);
    env_batch_free(e);
}

// recorded (generalised-force columns) against direct differences of mj_step with the 152
// control columns, one physics step per control step, both central: on the ground the contact
// impedance's 1 cm ramp curves the dynamics enough that forward differences alone differ from
// central ones by ~1e-4 of the largest entry, which would hide what this checks
static void check_recorded_jacobian(int steps, double tol, int want_contacts) {
    char path[1024], err[1024];
    env_model_path(env_find("snu-humanoid"), path, sizeof path);
    ph_config c = ph_config_default();
    c.substeps = 1, c.centered = 1;
    ph_config cc = c;
    ph_model *pm = ph_load(path, &c, err, sizeof err), *ref = ph_load(path, &cc, err, sizeof err);
    CHECK(pm && ref && pm->force_space, "%s", err);
    int nx = pm->nx, nu = pm->nu;
    ph_batch *b = ph_batch_new(pm, 1, 1);
    random_pose(pm->m, b->d[0], 2);
    ph_set_state(b, 0, b->d[0]->qpos, b->d[0]->qvel, NULL);
    double *u = nn_malloc(sizeof(double) * nu);
    for (int s = 0; s <= steps; s++) {
        for (int j = 0; j < nu; j++) u[j] = 0.3 * sin(0.7 * s + 2.1 * j);
        if (s < steps) ph_step(b, u, 0);
    }
    CHECK(!b->blowups, "blow-up before the check");
    CHECK(want_contacts ? b->d[0]->ncon > 0 : b->d[0]->ncon == 0, "%d contacts after %d steps", b->d[0]->ncon, steps);
    memcpy(b->d[0]->ctrl, u, sizeof(double) * nu);
    mjData *d2 = mj_copyData(NULL, pm->m, b->d[0]);
    double *A = nn_malloc(sizeof(double) * nx * nx), *B = nn_malloc(sizeof(double) * nx * nu);
    double *work = nn_malloc(sizeof(double) * ph_fd_work_size(ref));
    ph_fd_step_direct(ref, d2, work, A, B);
    ph_record_begin(b);
    ph_step(b, u, 1);
    double da = 0, ba = 0, db = 0, bb = 0;
    for (int i = 0; i < nx * nx; i++) da = fmax(da, fabs(b->A[i] - A[i])), ba = fmax(ba, fabs(A[i]));
    for (int i = 0; i < nx * nu; i++) db = fmax(db, fabs(b->B[i] - B[i])), bb = fmax(bb, fabs(B[i]));
    CHECK(da / ba < tol && db / bb < tol, "recorded vs direct: A %.2e, B %.2e", da / ba, db / bb);
    nn_free(u), nn_free(A), nn_free(B), nn_free(work);
    mj_deleteData(d2);
    ph_batch_free(b);
    ph_free(ref);
    ph_free(pm);
}

TEST(gradient_step_jacobian_matches_finite_differences) {
    // measured (max error / max entry): in the air A 2.4e-7, B 6.6e-9; on the ground A 3.0e-6, B 4.7e-9
    check_recorded_jacobian(2, 1e-5, 0);
    check_recorded_jacobian(60, 1e-4, 1);
}

const test_case snu_tests[] = {
    {"dims_and_muscle_count", dims_and_muscle_count},
    {"every_muscle_has_a_moment_arm", every_muscle_has_a_moment_arm},
    {"committed_model_follows_the_fork_law", committed_model_follows_the_fork_law},
    {"converter_on_a_small_skeleton", converter_on_a_small_skeleton},
    {"converter_errors_are_clear", converter_errors_are_clear},
    {"converter_reproduces_the_committed_model", converter_reproduces_the_committed_model},
    {"start_distribution", start_distribution},
    {"reward_on_a_hand_made_state", reward_on_a_hand_made_state},
    {"gradient_step_jacobian_matches_finite_differences", gradient_step_jacobian_matches_finite_differences},
    {0},
};

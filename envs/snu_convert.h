// The SNU Humanoid's model from the MASS data files (Lee et al. 2019, Apache-2.0): the skeleton
// (human.xml) and the muscles (muscle284.xml) in MASS's own XML formats, converted to this
// project's MJCF the way DiffRL's SNU task reads them (shac-and-tasks.md §1.2-1.3,
// pwm-fork-tasks.md §3):
//   - the 11 lower-body nodes (Pelvis; Femur, Tibia, Talus, FootThumb, FootPinky left and right):
//     one box per node with the node's mass, the joint frame as the body frame;
//   - the muscles whose every waypoint lies on a kept node (152 of 284): a site per waypoint and a
//     spatial tendon through them, and one actuator per muscle on its tendon;
//   - the stateless force law along the path as a fixed-gain actuator (no activation state, so the
//     physics layer can use its generalised-force Jacobian columns):
//       fork (default):  tension −clip(a, −1, 1)·0.36·f0   gain −0.36·f0
//       nvlabs:          tension −(0.5a + 0.5)·0.36·f0     gain −0.18·f0, affine bias −0.18·f0
//     (a negative tendon force pulls: MuJoCo's positive tendon force lengthens the tendon);
//   - z-up facing +x (MASS is y-up facing +z), the pelvis 1 m above the ground at the start.
// The generated file's header comment lists every parameter and deviation.
#ifndef PWM_ENVS_SNU_CONVERT_H
#define PWM_ENVS_SNU_CONVERT_H

#include <stddef.h>

typedef enum { SNU_LAW_FORK, SNU_LAW_NVLABS } snu_force_law;

// dflex's muscle strength: f0 scaled by str_scale = 0.6 twice
#define SNU_STRENGTH_SCALE 0.36

// What a conversion kept and dropped, for reports and tests.
typedef struct {
    int nodes, nodes_dropped;          // skeleton nodes kept (lower body) / left out
    int muscles, muscles_dropped;      // muscles with every waypoint on a kept node / the others
    int waypoints, segments, crossing; // kept muscles' waypoints, segments, segments joining two bodies
    double mass;                       // kept nodes' total mass (kg)
    double f0_min, f0_max, f0_sum;     // kept muscles' f0 (N)
    double contact_k, contact_b;       // the direct solref (−k, −b) written on every box
} snu_stats;

// Convert the MASS skeleton and muscle files into an MJCF model at out_path with the given force
// law. Returns 0 (stats filled when non-NULL) or -1 with a message in err naming the file and
// line of a missing, malformed or unsupported entry.
int snu_convert(const char *skeleton_path, const char *muscle_path, snu_force_law law, const char *out_path,
                snu_stats *stats, char *err, size_t errlen);

// "fork" or "nvlabs" to the law; -1 if neither.
int snu_force_law_parse(const char *name);

#endif

// `pwm snu-convert`: the SNU Humanoid's MJCF model from the MASS skeleton and muscle files.
#include <stdio.h>

#include "../envs/snu_convert.h"
#include "../opts/args.h"
#include "commands.h"

int cmd_snu_convert(int argc, char **argv) {
    const char *skeleton = "../shared/reference/snu/human.xml", *muscles = "../shared/reference/snu/muscle284.xml";
    const char *law = "fork", *out = "envs/models/snu_humanoid.xml";
    const args_opt opts[] = {
        {"skeleton", ARG_STRING, &skeleton, "MASS skeleton file (human.xml)", NULL, "FILE"},
        {"muscles", ARG_STRING, &muscles, "MASS muscle file (muscle284.xml)", NULL, "FILE"},
        {"force-law", ARG_CHOICE, &law,
         "fork: tension -clip(a)*0.36*f0 (the paper's runs); nvlabs: pull-only -(0.5a+0.5)*0.36*f0", "fork|nvlabs",
         NULL},
        {"out", ARG_STRING, &out, "the MJCF file to write", NULL, "FILE.xml"},
        {0},
    };
    args_spec spec = {
        "pwm snu-convert [--skeleton human.xml] [--muscles muscle284.xml] [--force-law fork|nvlabs] [--out FILE.xml]",
        "Converts the MASS human model (Lee et al. 2019, Apache-2.0) into the SNU Humanoid's MuJoCo model as\n"
        "DiffRL's task uses it: the 11 lower-body nodes, the muscles whose every waypoint lies on them (a\n"
        "spatial tendon through a site per waypoint, one fixed-gain actuator each), z-up facing +x. The\n"
        "committed envs/models/snu_humanoid.xml is this command's output with the defaults.",
        {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm snu-convert");
    if (rc >= 0) return rc;
    char err[1024];
    snu_stats st;
    if (snu_convert(skeleton, muscles, (snu_force_law)snu_force_law_parse(law), out, &st, err, sizeof err))
        return fprintf(stderr, "pwm snu-convert: %s\n", err), 1;
    printf("wrote %s (%s force law): %d of %d nodes, %.4g kg; %d muscles kept, %d dropped; %d waypoints, %d segments "
           "(%d joining two bodies); f0 %.4g..%.4g N; contact k %.6g, b %.6g\n",
           out, law, st.nodes, st.nodes + st.nodes_dropped, st.mass, st.muscles, st.muscles_dropped, st.waypoints,
           st.segments, st.crossing, st.f0_min, st.f0_max, st.contact_k, st.contact_b);
    return 0;
}

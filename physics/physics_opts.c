#include "physics_opts.h"

#include <string.h>

void physics_opts_init(physics_opts *p) {
    p->cfg = ph_config_default();
    p->method = "auto";
    ph_config *c = &p->cfg;
    const args_opt o[] = {
        {"substeps", ARG_INT, &c->substeps, "physics steps per control step (frame skip; 0: the task's, or 1)", NULL, "K"},
        {"timestep", ARG_DOUBLE, &c->timestep, "physics timestep in s (-1: the model's)", NULL, "S"},
        {"contact-stiffness", ARG_DOUBLE, &c->contact_stiffness,
         "contact stiffness, MuJoCo's direct solref form (-k, -d) on every geom (-1: the model's)", NULL, "K"},
        {"contact-damping", ARG_DOUBLE, &c->contact_damping, "contact damping for the direct solref form", NULL, "D"},
        {"solref-timeconst", ARG_DOUBLE, &c->solref_timeconst,
         "contact time constant, standard solref form (-1: the model's)", NULL, "S"},
        {"solref-dampratio", ARG_DOUBLE, &c->solref_dampratio, "contact damping ratio, standard solref form", NULL, "R"},
        {"friction", ARG_DOUBLE, &c->friction, "sliding friction of every geom (-1: the model's)", NULL, "MU"},
        {"centered", ARG_FLAG, &c->centered, "central finite differences for the Jacobians (2x the cost)", NULL, NULL},
        {"fd-eps", ARG_DOUBLE, &c->fd_eps, "finite-difference step of the Jacobians", NULL, "EPS"},
        {"jacobian", ARG_CHOICE, &p->method,
         "per-step Jacobians: auto (mjd_transitionFD, direct for RK4), mjd, or direct differences of mj_step",
         "auto|mjd|direct", NULL},
        {0},
    };
    _Static_assert(sizeof o <= sizeof p->opts, "physics_opts.opts is too small for the group");
    memcpy(p->opts, o, sizeof o);
}

void physics_opts_resolve(physics_opts *p) {
    p->cfg.method = !strcmp(p->method, "mjd") ? PH_JAC_MJD : !strcmp(p->method, "direct") ? PH_JAC_DIRECT : PH_JAC_AUTO;
}

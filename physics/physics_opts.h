// Options shared by every command that steps MuJoCo: the physics overrides and gradient settings
// of ph_config, as one option group (opts/args.h) that a command adds to its spec.
#ifndef PWM_PHYSICS_PHYSICS_OPTS_H
#define PWM_PHYSICS_PHYSICS_OPTS_H

#include "../opts/args.h"
#include "physics.h"

typedef struct {
    ph_config cfg;
    const char *method;  // auto|mjd|direct, resolved into cfg.method by physics_opts_resolve
    args_opt opts[16];   // the group, bound to cfg and method (so a copy of the struct is not bound to itself)
} physics_opts;

// Defaults (ph_config_default) and the group in p->opts, ending with {0}.
void physics_opts_init(physics_opts *p);
// Copy the parsed method name into cfg.method.
void physics_opts_resolve(physics_opts *p);

#endif

// Options shared by every command that steps MuJoCo: the physics overrides and gradient settings
// of ph_config, as one block of an option table.
#ifndef PWM_PHYSICS_PHYSICS_OPTS_H
#define PWM_PHYSICS_PHYSICS_OPTS_H

#include "../opts/args.h"
#include "physics.h"

#define PHYSICS_OPTS_COUNT 10

typedef struct {
    ph_config cfg;
    const char *method;  // auto|mjd|direct, resolved into cfg.method by physics_opts_resolve
} physics_opts;

// Defaults (ph_config_default) and the option entries, written into opts[0..PHYSICS_OPTS_COUNT).
void physics_opts_init(physics_opts *p, args_opt *opts);
// Copy the parsed method name into cfg.method.
void physics_opts_resolve(physics_opts *p);

#endif

// Loss landscapes of a trained PWM Hopper policy (the paper's landscape figures, §4(d)): the
// H-step return along random filter-normalised directions in the actor's parameters (1-D line
// and 2-D plane), ground truth (MuJoCo) against the policy's world model, at several horizons.
#ifndef PWM_EXPERIMENTS_LANDSCAPE_H
#define PWM_EXPERIMENTS_LANDSCAPE_H

typedef struct {
    const char *preset;  // quick | paper
    const char *policy;  // a PWM checkpoint (pwm train, pwm compare)
    const char *out;     // NULL: results/landscape/<timestamp>
    long seed;           // the directions and the start states
} landscape_config;

int landscape_run(const landscape_config *c, const char *command);

#endif

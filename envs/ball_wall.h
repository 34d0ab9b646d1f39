// The pedagogical "ball thrown at a wall" (PWM paper, Fig. 2; pwm-paper-and-code.md §4(a)):
// a ball thrown at angle θ with speed v = 10 from x = 0, horizontal acceleration a = 1, gravity
// −9.81, for t = 2 s; a wall at w = 5 stops it if it is still below the wall's top (h = 0) when
// it gets there. The objective is J(θ) = −f(θ), f the ball's final x:
//   ty = (−v·cosθ + sqrt(v²cos²θ + k·a·w))/a   (time to reach the wall; k = 1 as the paper's
//        script codes it, k = 2 for the exact kinematics)
//   y  = v·sinθ·ty + g·ty²/2                  (height at the wall)
//   f  = w if y < h and ty < t, else v·cosθ·t + a·t²/2
// J has a plateau J = −5 on θ ∈ [−1.544, 0.116] where its gradient is zero, and J* = −21.85.
#ifndef PWM_ENVS_BALL_WALL_H
#define PWM_ENVS_BALL_WALL_H

typedef struct {
    double v, a, t, w, h, g;
    int exact;  // 1: ty with 2·a·w (exact kinematics); 0: the paper's a·w
} ball_wall;

// The paper's constants, with its (inexact) time to the wall.
ball_wall ball_wall_default(void);
// J(θ) = −f(θ); dJ (may be NULL) receives dJ/dθ (0 on the plateau).
double ball_wall_J(const ball_wall *b, double theta, double *dJ);

#endif

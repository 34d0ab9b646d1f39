#include "ball_wall.h"

#include <math.h>

ball_wall ball_wall_default(void) { return (ball_wall){.v = 10, .a = 1, .t = 2, .w = 5, .h = 0, .g = -9.81}; }

double ball_wall_J(const ball_wall *b, double theta, double *dJ) {
    double c = cos(theta), s = sin(theta), k = b->exact ? 2.0 : 1.0;
    double ty = (-b->v * c + sqrt(b->v * b->v * c * c + k * b->a * b->w)) / b->a;
    double y = b->v * s * ty + b->g * ty * ty / 2;
    if (y < b->h && ty < b->t) {
        // stopped by the wall: f = w whatever θ
        if (dJ) *dJ = 0.0;
        return -b->w;
    }
    if (dJ) *dJ = b->v * s * b->t;
    return -(b->v * c * b->t + b->a * b->t * b->t / 2);
}

// The ball-wall landscape: the paper's numbers, and its gradient against finite differences.
#include <math.h>

#include "../envs/ball_wall.h"
#include "test.h"

TEST(landscape_matches_the_paper) {
    // 1000 grid points over [−π, π]; J* = −21.85 near θ = 0.123; plateau −5; J(−π) = 18; the
    // point the paper marks (index 328, θ = −1.079) is 16.850 above the optimum
    ball_wall b = ball_wall_default();
    double best = 1e9, best_theta = 0, J[1000];
    for (int i = 0; i < 1000; i++) {
        double th = -M_PI + 2 * M_PI * i / 999.0;
        J[i] = ball_wall_J(&b, th, NULL);
        if (J[i] < best) best = J[i], best_theta = th;
    }
    CHECK_CLOSE(-M_PI + 2 * M_PI * 328 / 999.0, -1.079, 0, 5e-4);
    CHECK_CLOSE(J[328] - best, 16.850, 0, 5e-4);
    CHECK_CLOSE(best, -21.85, 0, 5e-3);
    CHECK_CLOSE(best_theta, 0.123, 0, 5e-3);
    CHECK_CLOSE(J[0], 18.0, 1e-12, 0);
    for (int i = 0; i < 1000; i++) {
        double th = -M_PI + 2 * M_PI * i / 999.0;
        if (th > -1.54 && th < 0.11) CHECK(J[i] == -5.0, "J(%g) = %g off the plateau", th, J[i]);
    }
}

TEST(gradient_matches_differences) {
    ball_wall b = ball_wall_default();
    for (int e = 0; e < 2; e++) {
        b.exact = e;
        for (double th = -3.0; th < 3.0; th += 0.37) {
            double g, h = 1e-6, jp = ball_wall_J(&b, th + h, NULL), jm = ball_wall_J(&b, th - h, NULL);
            ball_wall_J(&b, th, &g);
            if (fabs(jp - jm) > 1.0) continue;  // straddles the wall's discontinuity
            CHECK_CLOSE(g, (jp - jm) / (2 * h), 1e-6, 1e-6);
        }
    }
}

const test_case ball_wall_tests[] = {
    {"landscape_matches_the_paper", landscape_matches_the_paper},
    {"gradient_matches_differences", gradient_matches_differences},
    {0},
};

// `pwm experiment ball-wall`: the smoothness table and landscape of the PWM paper's ball thrown at
// a wall (pwm-paper-and-code.md §4(a), envs/ball_wall.h). Models of J(θ) are fitted by MSE on the
// grid and compared by their error and the optimality gap their minimum implies; gradient descent
// on each model from θ ≈ −π shows where a first-order method following it ends.
#ifndef PWM_EXPERIMENTS_BALL_WALL_EXP_H
#define PWM_EXPERIMENTS_BALL_WALL_EXP_H

// The rows of the table, in order.
typedef enum {
    BW_TRUE,      // J itself
    BW_RELU,      // Linear → ReLU hidden layers [32, 32], linear output (the FoRL-WM predecessor's "ReLU")
    BW_LN_MISH,   // Linear → LayerNorm → Mish [32, 32], linear output (the final paper script's "ReLU")
    BW_SIMNORM,   // Linear → LayerNorm → Mish [32], Linear → LayerNorm → SimNorm(8) to 32, Linear decoder to 1
    BW_MODELS
} bw_kind;

typedef struct {
    int grid;         // grid points over [−π, π] (1000)
    int epochs;       // training epochs (100)
    int batch;        // points per step, drawn with replacement (56); steps per epoch = grid / batch (17)
    double lr;        // Adam (2e-3)
    long seed;        // initial weights and batches (0)
    int gd_steps;     // gradient descent on each model: steps (2000)
    double gd_lr;     // and step size (0.01)
    int reproduce_original;  // the script's SimNorm training: its decoder's gradients are never zeroed
} bw_config;

typedef struct {
    double rmse;        // sqrt(mean over the grid of (model − J)²)
    double gap;         // the paper's optimality gap: model value at its argmin − J* (argmin over θ < 0 for
                        // the "ReLU" rows, global for SimNorm; for True the paper's marked index 328)
    double argmin_theta;
    double gd_theta;    // where gradient descent on the model from the grid's second point ends
    double gd_gap;      // J(gd_theta) − J*: the true optimality gap of that end point
} bw_row;

typedef struct {
    bw_config c;
    double *theta, *J;          // grid
    double *pred[BW_MODELS];    // per row: the model on the grid (BW_TRUE: J)
    double *loss[BW_MODELS];    // per step: the training loss (BW_TRUE: NULL)
    int steps;                  // training steps per model
    double J_star, theta_star;  // the grid's minimum
    bw_row row[BW_MODELS];
} bw_result;

// The paper's settings: 1000 points, 100 epochs, batch 56, lr 2e-3, seed 0, GD 2000 × 0.01.
bw_config bw_config_paper(void);
// The row's name in the table.
const char *bw_kind_name(bw_kind k);
// Fit the models and fill the table. Free with bw_free.
void bw_compute(const bw_config *c, bw_result *r);
void bw_free(bw_result *r);

// The experiment: bw_compute, then OUT/landscape.csv, table.csv, losses.csv, gd.csv, the plots
// landscape.png and losses.png, and summary.md. command: the command line for the summary.
// 0, or 1 with a message.
int bw_experiment(const bw_config *c, const char *preset, const char *out, const char *command);

#endif

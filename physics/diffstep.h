// The differentiable control step: backpropagation through recorded MuJoCo steps, in one place
// for every user (SHAC's actor loss, the ESNR experiment's true-dynamics gradient, the whole-
// rollout gradient check).
//
// A recorded step t of a batch (ph_step with record) maps the state x_t and the controls u_t to its
// output x_{t+1} = f(x_t, u_t); ph_vjp applies its Jacobians. What step t+1 starts from is that
// output, except where the physics layer recorded a cut (ph_was_cut: the state was replaced after
// step t, by a blow-up's reset or by ph_set_state, e.g. an episode's reset); there no gradient
// flows from the start of step t+1 into step t. That is the one reset rule, used by both forms:
//
// - on a graph (nn/graph.h), for losses that mix the dynamics with networks: ph_node_step (x_{t+1}
//   of x_t and u_t), ph_node_cut (the start of step t+1 from x_{t+1}), and functions of the states
//   with recorded derivatives, ph_node_observe (an observation) and ph_node_reward (a reward). The
//   state tensors carry no values (zeros): they exist for their gradients. Gradients are float, as
//   the graph's;
// - in double precision over a whole window, for a loss given as its derivatives with respect to
//   the states: ph_backward.
#ifndef PWM_PHYSICS_DIFFSTEP_H
#define PWM_PHYSICS_DIFFSTEP_H

#include "../nn/graph.h"
#include "physics.h"

// x_{t+1} (n × nx) after recorded step t of b, from the start state x (n × nx) and the controls u
// (n × nu); backward through ph_vjp. b must keep step t's recording until the graph's backward.
nn_tensor *ph_node_step(nn_graph *g, const ph_batch *b, int t, nn_tensor *x, nn_tensor *u);

// What step t + 1 starts from (n × nx): xo = x_{t+1} where no cut was recorded after step t, a
// gradient cut where one was. If cut is non-NULL it receives the n flags (in the graph's arena).
nn_tensor *ph_node_cut(nn_graph *g, const ph_batch *b, int t, nn_tensor *xo, const unsigned char **cut);

// An observation (n × O) with values obs (n × O) of state x (n × nx) with Jacobians J (n × O × nx);
// both are copied. When u (n × A) is given, entries [prev_at, prev_at + A) of each row hold u's
// value (a task's previous clipped action: identity derivative, as the actions are tanh outputs
// inside the clip), except in the rows no_prev marks (e.g. reset environments, whose previous
// action is zero; NULL: none). u NULL or prev_at 0: the observation does not depend on u.
nn_tensor *ph_node_observe(nn_graph *g, nn_tensor *x, nn_tensor *u, int prev_at, const unsigned char *no_prev, int O,
                           const double *obs, const double *J);

// A reward (n × 1) with values r (n) of the step from x (n × nx) with controls u (n × A) to xo
// (n × nx), with its recorded derivatives dx, dpost (n × nx: on x and xo) and da (n × A); all copied.
nn_tensor *ph_node_reward(nn_graph *g, nn_tensor *x, nn_tensor *u, nn_tensor *xo, const double *r, const double *dx,
                          const double *da, const double *dpost);

// Backpropagate through the whole recorded window: dldx holds len+1 arrays (n × nx each, NULL where
// zero): dldx[0] on the window's start, dldx[t+1] on the output of step t (before any cut); dldu
// (len arrays of n × nu) receives dL/du_t; gx0 (n × nx) receives dL/dx_0.
void ph_backward(const ph_batch *b, const double *const *dldx, double *const *dldu, double *gx0);

#endif

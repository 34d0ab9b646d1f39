#!/usr/bin/env python3
"""PyTorch eager timing of what `pwm bench nn` times, for comparison (optional; no test needs it).

1. The world-model training step, the same architecture and loss as worldmodel/wm.c: encoder
   obs -> [Linear -> LayerNorm -> Mish] x enc_layers -> Linear -> LayerNorm -> SimNorm(8); dynamics
   and reward (latent + act) -> [mlp, mlp] with the same blocks, dynamics ending in SimNorm, reward
   in a plain Linear. PWM's loss over batch x horizon (targets: the encoder of the next observations
   without gradient; discount rho 0.99), grad-norm clip 20, Adam 3e-4 (default betas).

2. PWM's policy epoch as `pwm train` runs it (policy/pwm.c's run_epoch, timed by pwm_bench_epochs)
   with the paper's settings (pwm_preset "paper"), on a fresh model of the same shape, without
   MuJoCo stepping (the starts are states drawn from random episodes, as offline extraction draws
   them):
   - actor loss + backward: the encoded starts, then --horizon steps of
     a = tanh(mu(sg z) + exp(logstd) * eps) (actor [400, 200, 100], Linear -> Mish -> LayerNorm
     blocks, a last Linear; logstd clamped in place to >= -1.427), the frozen model's reward and
     dynamics, the bootstrap min over 3 frozen critics ([400, 200], Linear -> Mish -> LayerNorm,
     orthogonal init) of the next latent; the loss -mean(R + gamma^H V) scaled by the running std of
     the per-start losses, and its backward pass. As pwm's graph, every step's min-value enters the
     loss (with weight 0 before the last step), so the backward pass runs through all of them;
   - actor update: the gradient norm, clip at 1, Adam (betas 0.7, 0.95, lr 5e-4);
   - critic fits: TD(lambda) targets (gamma 0.99, lambda 0.95, done at the window's end) over the
     window's latents, then 8 iterations x 4 unshuffled minibatches, each one Adam step (betas 0.7,
     0.95, lr 5e-4, NaN gradients zeroed, clip 100) on the mean of the 3 critics' MSEs;
   - model fine-tuning: 8 world-model steps (as 1.) on windows of batch --batch x horizon --horizon
     drawn from the episodes on the host.

    python3 bench/pytorch_wm_step.py --device cuda --size single
    python3 bench/pytorch_wm_step.py --device cuda --size paper
    python3 bench/pytorch_wm_step.py --device cpu --latent 16 --enc-dim 16 --mlp-dim 16 \\
        --batch 8 --horizon 4 --envs 8 --steps 2 --warmup 1      # a check in seconds

Prints ms per step and per part of the epoch in `pwm bench nn`'s layout (without its GEMM
profile), means over --steps (--epochs) after --warmup untimed ones; on a GPU each part's clock is
read after torch.cuda.synchronize(). The data are random: timing only.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

GAMMA, LAMBDA = 0.99, 0.95
ACTOR_UNITS, CRITIC_UNITS, CRITICS = [400, 200, 100], [400, 200], 3
CRITIC_ITERS, CRITIC_MINIBATCHES, WM_ITERS = 8, 4, 8
ACTOR_LR = CRITIC_LR = 5e-4
BETAS = (0.7, 0.95)
ACTOR_CLIP, CRITIC_CLIP, WM_CLIP, WM_LR = 1.0, 100.0, 20.0, 3e-4
LOGSTD_INIT, LOGSTD_MIN = -1.0, -1.427


class SimNorm(nn.Module):
    def __init__(self, group=8):
        super().__init__()
        self.group = group

    def forward(self, x):
        shp = x.shape
        return F.softmax(x.view(*shp[:-1], -1, self.group), dim=-1).view(shp)


def norm_act_mlp(i, hidden, o, out):
    """the world model's nets: [Linear -> LayerNorm -> Mish] blocks, then SimNorm's block or a Linear"""
    layers, d = [], i
    for h in hidden:
        layers += [nn.Linear(d, h), nn.LayerNorm(h), nn.Mish()]
        d = h
    layers += [nn.Linear(d, o), nn.LayerNorm(o), SimNorm()] if out == "simnorm" else [nn.Linear(d, o)]
    return nn.Sequential(*layers)


def act_norm_mlp(i, hidden, o):
    """the actor's and critics' nets: [Linear -> Mish -> LayerNorm] blocks, then a Linear"""
    layers, d = [], i
    for h in hidden:
        layers += [nn.Linear(d, h), nn.Mish(), nn.LayerNorm(h)]
        d = h
    return nn.Sequential(*layers, nn.Linear(d, o))


class WorldModel(nn.Module):
    def __init__(self, O, A, L, E, EL, M):
        super().__init__()
        self.enc = norm_act_mlp(O, [E] * EL, L, "simnorm")
        self.dyn = norm_act_mlp(L + A, [M, M], L, "simnorm")
        self.rew = norm_act_mlp(L + A, [M, M], 1, "linear")
        # TD-MPC2's init, as wm_init: truncated normal (std 0.02) weights, zero biases, the reward's
        # last layer zero
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.rew[-1].weight)

    def loss(self, obs, act, rew):
        """PWM's world-model loss on obs (H+1, B, O), act (H, B, A), rew (H, B, 1)"""
        H = act.shape[0]
        with torch.no_grad():
            targets = self.enc(obs[1:])
        z = self.enc(obs[0])
        dyn_loss = rew_loss = 0.0
        for t in range(H):
            za = torch.cat([z, act[t]], -1)
            rew_loss = rew_loss + 0.99**t * F.mse_loss(self.rew(za), rew[t]) / H
            z = self.dyn(za)
            dyn_loss = dyn_loss + 0.99**t * F.mse_loss(z, targets[t])
        return (dyn_loss + rew_loss) / H


def wm_step(w, opt, obs, act, rew):
    """one training step (wm_train_step): loss, backward, a non-finite check, clip 20, Adam; the loss"""
    opt.zero_grad(set_to_none=True)
    loss = w.loss(obs, act, rew)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(w.parameters(), WM_CLIP)
    if not math.isfinite(norm.item()):
        return float("nan")
    opt.step()
    return loss.item()


def td_lambda(rs, vs):
    """lrn_td_lambda's recursion over rewards and next values (H, N, 1), done only at the window's end"""
    H = rs.shape[0]
    done = torch.zeros_like(rs)
    done[-1] = 1
    targets = torch.empty_like(rs)
    A, Bv, lam = torch.zeros_like(rs[0]), torch.zeros_like(rs[0]), torch.ones_like(rs[0])
    for k in range(H - 1, -1, -1):
        d, r, v = done[k], rs[k], vs[k]
        lam = lam * LAMBDA * (1 - d) + d
        A = (1 - d) * (LAMBDA * GAMMA * A + GAMMA * v + (1 - lam) / (1 - LAMBDA) * r)
        Bv = GAMMA * (v * d + Bv * (1 - d)) + r
        targets[k] = (1 - LAMBDA) * A + lam * Bv
    return targets


class RunningStd:
    """nn_rms: the running mean and variance (Chan's merge, count starting at 1e-4) of each batch of scalars"""

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, x):
        m, v, n = x.mean().item(), x.var(unbiased=False).item(), x.numel()
        d, tot = m - self.mean, self.count + n
        self.mean += d * n / tot
        self.var = (self.var * self.count + v * n + d * d * self.count * n / tot) / tot
        self.count = tot


class PolicyEpoch:
    """PWM's policy epoch (run_epoch) on the model w with the paper's settings; random episodes"""

    def __init__(self, w, O, A, L, N, H, B, dev):
        self.w, self.N, self.H, self.B, self.A, self.dev = w, N, H, B, A, dev
        for p in w.parameters():
            p.requires_grad_(False)
        self.actor = act_norm_mlp(L, ACTOR_UNITS, A).to(dev)
        self.logstd = nn.Parameter(torch.full((A,), LOGSTD_INIT, device=dev))
        self.critics = nn.ModuleList(act_norm_mlp(L, CRITIC_UNITS, 1) for _ in range(CRITICS)).to(dev)
        for m in self.critics.modules():
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight, gain=math.sqrt(2))
                nn.init.zeros_(m.bias)
        self.actor_params = list(self.actor.parameters()) + [self.logstd]
        self.aopt = torch.optim.Adam(self.actor_params, lr=ACTOR_LR, betas=BETAS)
        self.copt = torch.optim.Adam(self.critics.parameters(), lr=CRITIC_LR, betas=BETAS)
        self.wopt = torch.optim.Adam(w.parameters(), lr=WM_LR)
        self.ret = RunningStd()
        # four random episodes on the host, as bench_nn.c's policy_epoch: T = max(4H, 250) steps each
        T = max(4 * H, 250)
        g = torch.Generator().manual_seed(3)
        self.T = T
        self.obs = torch.randn(4, T + 1, O, generator=g)
        self.act = torch.rand(4, T, A, generator=g) * 2 - 1
        self.rew = torch.randn(4, T, 1, generator=g)
        self.g = g

    def min_value(self, z):
        return torch.stack([c(z) for c in self.critics]).min(0).values

    def actor_loss(self):
        """the H-step loss through the frozen model, its backward pass; (loss, latents, rewards, next values)"""
        N, H, dev = self.N, self.H, self.dev
        for p in self.critics.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            self.logstd.clamp_(min=LOGSTD_MIN)
        ep = torch.randint(0, 4, (N,), generator=self.g)
        t = torch.randint(0, self.T + 1, (N,), generator=self.g)
        z = self.w.enc(self.obs[ep, t].to(dev))
        R = torch.zeros(N, 1, device=dev)
        L = torch.zeros(N, 1, device=dev)
        zs, rs, vs = [], [], []
        for k in range(H):
            last = k == H - 1
            zs.append(z.detach())
            eps = torch.randn(N, self.A, device=dev)
            a = torch.tanh(self.actor(z.detach()) + eps * self.logstd.exp())
            za = torch.cat([z, a], -1)
            r = self.w.rew(za)
            z1 = self.w.dyn(za)
            v = self.min_value(z1)
            # R += gamma^k r; the window closes at its end with R + gamma^H V(z_H)
            R = R + r * torch.full((N, 1), GAMMA**k, device=dev)
            close = R * torch.ones(N, 1, device=dev) + v * torch.full((N, 1), GAMMA ** (k + 1), device=dev)
            L = L + close * torch.full((N, 1), 1.0 if last else 0.0, device=dev)
            R = R * torch.ones(N, 1, device=dev)
            rs.append(r.detach())
            vs.append(v.detach())
            z = z1
        self.ret.update(-L.detach())
        loss = -L.mean() / math.sqrt(self.ret.var + 1e-5)
        self.aopt.zero_grad(set_to_none=True)
        loss.backward()
        for p in self.critics.parameters():
            p.requires_grad_(True)
        return loss.item(), torch.stack(zs), torch.stack(rs), torch.stack(vs)

    def actor_update(self):
        norm = torch.nn.utils.clip_grad_norm_(self.actor_params, ACTOR_CLIP).item()
        if math.isfinite(norm) and norm <= 1e6:
            self.aopt.step()
        return norm

    def critic_fits(self, zs, rs, vs):
        """TD(lambda) over the window (lrn_td_lambda, done only at its end), then the minibatch fits"""
        H, N = self.H, self.N
        targets = td_lambda(rs, vs)
        x, y = zs.reshape(H * N, -1), targets.reshape(H * N, 1)
        mb = H * N // CRITIC_MINIBATCHES
        params = list(self.critics.parameters())
        last = 0.0
        for _ in range(CRITIC_ITERS):
            total = 0.0
            for b in range(CRITIC_MINIBATCHES):
                xb, yb = x[b * mb:(b + 1) * mb], y[b * mb:(b + 1) * mb]
                self.copt.zero_grad(set_to_none=True)
                loss = sum(F.mse_loss(c(xb), yb) for c in self.critics) / CRITICS
                loss.backward()
                for p in params:
                    torch.nan_to_num_(p.grad, nan=0.0)
                torch.nn.utils.clip_grad_norm_(params, CRITIC_CLIP)
                self.copt.step()
                total += loss.item()
            last = total / CRITIC_MINIBATCHES
        return last

    def finetune(self):
        """WM_ITERS world-model steps on windows drawn from the episodes on the host"""
        B, H = self.B, self.H
        for p in self.w.parameters():
            p.requires_grad_(True)
        total = 0.0
        for _ in range(WM_ITERS):
            ep = torch.randint(0, 4, (B,), generator=self.g)
            t0 = torch.randint(0, self.T - H + 1, (B,), generator=self.g)
            steps = t0[None, :] + torch.arange(H + 1)[:, None]  # (H+1, B)
            obs = self.obs[ep[None, :], steps].to(self.dev)
            act = self.act[ep[None, :], steps[:-1]].to(self.dev)
            rew = self.rew[ep[None, :], steps[:-1]].to(self.dev)
            total += wm_step(self.w, self.wopt, obs, act, rew) / WM_ITERS
        for p in self.w.parameters():
            p.requires_grad_(False)
        return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["single", "paper"], default="single",
                    help="single (the paper's single-task model) or paper (48M), as pwm bench nn")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    ap.add_argument("--obs", type=int, default=11, help="observation width")
    ap.add_argument("--act", type=int, default=3, help="action width")
    ap.add_argument("--latent", type=int, default=-1, help="latent width (multiple of 8; -1: from --size)")
    ap.add_argument("--enc-dim", type=int, default=-1, help="encoder hidden width (-1: from --size)")
    ap.add_argument("--enc-layers", type=int, default=-1, help="encoder hidden layers (-1: from --size)")
    ap.add_argument("--mlp-dim", type=int, default=-1, help="dynamics/reward hidden width (-1: from --size)")
    ap.add_argument("--batch", type=int, default=256, help="sub-trajectories per world-model batch")
    ap.add_argument("--horizon", type=int, default=16, help="unrolled steps H")
    ap.add_argument("--steps", type=int, default=20, help="timed world-model steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps (and policy epochs) first")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--envs", type=int, default=64, help="the policy epoch's starts (PWM's environments)")
    ap.add_argument("--epochs", type=int, default=-1,
                    help="timed policy epochs, after --warmup (-1: as --steps; 0: skip the policy epoch)")
    a = ap.parse_args()
    paper = a.size == "paper"
    L = a.latent if a.latent >= 0 else 768 if paper else 512
    E = a.enc_dim if a.enc_dim >= 0 else 1792 if paper else 256
    EL = a.enc_layers if a.enc_layers >= 0 else 3 if paper else 1
    M = a.mlp_dim if a.mlp_dim >= 0 else 1792 if paper else 512
    O, A, B, H = a.obs, a.act, a.batch, a.horizon
    if L % 8 or min(L, E, EL, M, O, A, B, H, a.steps, a.envs) < 1 or a.warmup < 0:
        ap.error("need latent a multiple of 8 and positive sizes")
    if a.epochs and (a.envs * H) % CRITIC_MINIBATCHES:
        ap.error(f"--envs x --horizon must be divisible by {CRITIC_MINIBATCHES} (the critics' minibatches)")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)

    w = WorldModel(O, A, L, E, EL, M).to(dev)
    opt = torch.optim.Adam(w.parameters(), lr=WM_LR)
    nparams = sum(p.numel() for p in w.parameters())
    obs = torch.randn(H + 1, B, O, device=dev)
    act = torch.rand(H, B, A, device=dev) * 2 - 1
    rew = torch.randn(H, B, 1, device=dev)
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"world model: obs {O}, act {A}, latent {L}, encoder [{E}]x{EL}, dynamics/reward [{M}, {M}]; "
          f"{nparams / 1e6:.2f}M parameters")
    print(f"step: batch {B} x horizon {H}, forward + backward + clip + Adam; {torch.get_num_threads()} threads; "
          f"device PyTorch {torch.__version__} eager on {where}", flush=True)
    for _ in range(a.warmup):
        wm_step(w, opt, obs, act, rew)
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = wm_step(w, opt, obs, act, rew)
    sync()
    step = (time.perf_counter() - t0) / a.steps
    print(f"time per step          {1e3 * step:9.2f} ms   (mean of {a.steps}, loss {loss:.4g})", flush=True)

    epochs = a.steps if a.epochs < 0 else a.epochs
    if not epochs:
        return
    torch.manual_seed(1)
    pe = PolicyEpoch(WorldModel(O, A, L, E, EL, M).to(dev), O, A, L, a.envs, H, B, dev)
    parts = dict(actor=0.0, update=0.0, critic=0.0, wm=0.0, epoch=0.0)
    for ep in range(a.warmup + epochs):
        sync()
        t = [time.perf_counter()]
        aloss, zs, rs, vs = pe.actor_loss()
        sync()
        t.append(time.perf_counter())
        norm = pe.actor_update()
        sync()
        t.append(time.perf_counter())
        closs = pe.critic_fits(zs, rs, vs)
        sync()
        t.append(time.perf_counter())
        wloss = pe.finetune()
        sync()
        t.append(time.perf_counter())
        if ep >= a.warmup:
            for k, (i, j) in zip(parts, ((0, 1), (1, 2), (2, 3), (3, 4), (0, 4))):
                parts[k] += (t[j] - t[i]) / epochs
    print(f"PWM policy epoch: pwm train's in PyTorch eager (paper settings: {a.envs} starts x horizon {H}, actor "
          f"[{', '.join(map(str, ACTOR_UNITS))}] and {CRITICS} critics [{', '.join(map(str, CRITIC_UNITS))}] with "
          f"Mish) on a {nparams / 1e6:.2f}M-parameter model of the same shape, without MuJoCo stepping; mean of {epochs}")
    print(f"  actor loss + backward {1e3 * parts['actor']:9.2f} ms   (through the frozen model; loss {aloss:.4g})")
    print(f"  actor update          {1e3 * parts['update']:9.2f} ms   (grad norm {norm:.4g}, clip {ACTOR_CLIP:g}, Adam)")
    print(f"  critic fits           {1e3 * parts['critic']:9.2f} ms   (TD(lambda), {CRITIC_ITERS} x {CRITIC_MINIBATCHES} "
          f"minibatches; loss {closs:.4g})")
    print(f"  model fine-tuning     {1e3 * parts['wm']:9.2f} ms   ({WM_ITERS} steps of batch {B} x horizon {H}; "
          f"loss {wloss:.4g})")
    print(f"  epoch                 {1e3 * parts['epoch']:9.2f} ms")
    print(f"10k policy epochs       {1e4 * parts['epoch'] / 60:9.1f} min  (the issue's GPU target at the 48M size: "
          "10k policy steps < 2 min)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch eager timing of the step `pwm bench nn` times, for comparison (optional; no test needs it).

The same architecture and loss as worldmodel/wm.c and bench/bench_nn.c: encoder
obs -> [Linear -> LayerNorm -> Mish] x enc_layers -> Linear -> LayerNorm -> SimNorm(8); dynamics and
reward (latent + act) -> [mlp, mlp] with the same blocks; dynamics ends in SimNorm, reward in a
plain Linear. PWM's world-model loss over batch x horizon (targets = encoder of the next observations
without gradient, discount rho = 0.99), grad-norm clip 20, Adam 3e-4. Then PWM's actor step through
the frozen model (actor [400, 200, 100] and critic [400, 200], Linear -> ELU -> LayerNorm blocks,
tanh actions, 64 starts, horizon 16, clip 1, Adam 2e-3).

    python3 bench/pytorch_wm_step.py --device cuda --size single
    python3 bench/pytorch_wm_step.py --device cuda --size paper

Prints ms per step, mean over --steps after --warmup, with torch.cuda.synchronize around the timing.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SimNorm(nn.Module):
    def __init__(self, group=8):
        super().__init__()
        self.group = group

    def forward(self, x):
        shp = x.shape
        return F.softmax(x.view(*shp[:-1], -1, self.group), dim=-1).view(shp)


def norm_act(i, o, last=None):
    return [nn.Linear(i, o), nn.LayerNorm(o), last if last is not None else nn.Mish()]


def mlp(i, hidden, o, out):
    layers, d = [], i
    for h in hidden:
        layers += norm_act(d, h)
        d = h
    layers += norm_act(d, o, SimNorm()) if out == "simnorm" else [nn.Linear(d, o)]
    return nn.Sequential(*layers)


def act_norm_mlp(i, hidden, o):
    layers, d = [], i
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ELU(), nn.LayerNorm(h)]
        d = h
    return nn.Sequential(*layers, nn.Linear(d, o))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["single", "paper"], default="single")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--horizon", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--envs", type=int, default=64)
    a = ap.parse_args()
    paper = a.size == "paper"
    O, A, L = 11, 3, 768 if paper else 512
    E, EL, M = (1792, 3, 1792) if paper else (256, 1, 512)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    enc = mlp(O, [E] * EL, L, "simnorm").to(dev)
    dyn = mlp(L + A, [M, M], L, "simnorm").to(dev)
    rew = mlp(L + A, [M, M], 1, "linear").to(dev)
    params = list(enc.parameters()) + list(dyn.parameters()) + list(rew.parameters())
    opt = torch.optim.Adam(params, lr=3e-4)
    B, H = a.batch, a.horizon
    obs = torch.randn(H + 1, B, O, device=dev)
    act = torch.rand(H, B, A, device=dev) * 2 - 1
    r = torch.randn(H, B, 1, device=dev)
    print(f"PyTorch {torch.__version__} eager on {dev}; {sum(p.numel() for p in params) / 1e6:.2f}M parameters")

    def wm_step():
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            targets = enc(obs[1:])
        z = enc(obs[0])
        dyn_loss = rew_loss = 0.0
        for t in range(H):
            za = torch.cat([z, act[t]], -1)
            rew_loss = rew_loss + 0.99**t * F.mse_loss(rew(za), r[t]) / H
            z = dyn(za)
            dyn_loss = dyn_loss + 0.99**t * F.mse_loss(z, targets[t])
        loss = (dyn_loss + rew_loss) / H
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 20.0)
        opt.step()

    actor = act_norm_mlp(L, [400, 200, 100], A).to(dev)
    critic = act_norm_mlp(L, [400, 200], 1).to(dev)
    aopt = torch.optim.Adam(actor.parameters(), lr=2e-3)
    aobs = torch.randn(a.envs, O, device=dev)

    def actor_step():
        for p in params + list(critic.parameters()):
            p.requires_grad_(False)
        aopt.zero_grad(set_to_none=True)
        z, ret = enc(aobs), 0.0
        for t in range(H):
            u = torch.tanh(actor(z))
            za = torch.cat([z, u], -1)
            ret = ret + 0.99**t * rew(za).mean()
            z = dyn(za)
        loss = -(ret + 0.99**H * critic(z).mean()) / H
        loss.backward()
        torch.nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
        aopt.step()
        for p in params:
            p.requires_grad_(True)

    for name, step in (("world-model step", wm_step), ("PWM actor step", actor_step)):
        for _ in range(a.warmup):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        print(f"{name:18s} {1e3 * (time.perf_counter() - t0) / a.steps:9.2f} ms   (batch {B if step is wm_step else a.envs} x horizon {H}, mean of {a.steps})")


if __name__ == "__main__":
    main()

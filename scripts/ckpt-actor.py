#!/usr/bin/env python3
"""Edit the actor (or any tensor group) of a pwm checkpoint, for probes run with `pwm eval`.

Optional analysis (standard library only; nothing in the build or the tests needs it):

  ckpt-actor.py swap BASE DONOR OUT [--prefix P]    BASE with DONOR's tensors named P*
  ckpt-actor.py mix A B T OUT [--prefix P]          A with its P* tensors set to (1-T)*A + T*B
  ckpt-actor.py perturb IN R SEED OUT [--prefix P]  IN with every P* tensor moved by a Gaussian
                                                    direction of L2 norm R times the tensor's own

P defaults to the policy's actor: `m/actor.` in a checkpoint of a run with --actor-average (the
average, which pwm reads first), else `a/actor.` (`wm/encoder.` is PWM's encoder).
The log-std and the Adam moments are never touched. The output is written without the program's
checksum (pwm reads unsealed files), so it can be told apart from a file pwm wrote. Example, the
actor of a run's best checkpoint under its final world model:

  scripts/ckpt-actor.py swap run/final.safetensors run/best.safetensors /tmp/x.safetensors
  build/pwm eval --policy /tmp/x.safetensors
"""
import argparse
import array
import json
import math
import random
import struct
import sys


def load(path):
    try:
        b = open(path, 'rb').read()
        n = struct.unpack('<Q', b[:8])[0]
        return b, json.loads(b[8:8 + n]), 8 + n
    except (OSError, ValueError, struct.error) as e:
        sys.exit(f'ckpt-actor: {path}: not a readable safetensors file ({e}); pass a pwm checkpoint')


def tensors(header, prefix):
    names = [k for k in header if k != '__metadata__' and k.startswith(prefix) and not k.endswith('logstd')]
    if not names:
        sys.exit(f'ckpt-actor: no tensor named {prefix}* in the checkpoint; check --prefix')
    for k in names:
        if header[k]['dtype'] != 'F32':
            sys.exit(f'ckpt-actor: tensor {k} is {header[k]["dtype"]}, only F32 is handled')
    return names


def values(blob, header, base, name):
    s, e = header[name]['data_offsets']
    return array.array('f', blob[base + s:base + e])


def other(blob, header, base, name, ref, path):
    if name not in header or header[name]['shape'] != ref[name]['shape'] or header[name]['dtype'] != 'F32':
        sys.exit(f'ckpt-actor: {path} has no F32 tensor {name} of shape {ref[name]["shape"]}: not the same networks')
    return values(blob, header, base, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('op', choices=['swap', 'mix', 'perturb'])
    ap.add_argument('args', nargs='+')
    ap.add_argument('--prefix')
    a = ap.parse_args()
    need = {'swap': 3, 'mix': 4, 'perturb': 4}[a.op]
    if len(a.args) != need:
        ap.error(f'{a.op} takes {need} arguments (see --help)')
    blob, header, base = load(a.args[0])
    if a.prefix is None:
        a.prefix = 'm/actor.' if 'm/actor.logstd' in header else 'a/actor.'
    data = bytearray(blob[base:])
    if a.op == 'perturb':
        rel, rng = float(a.args[1]), random.Random(int(a.args[2]))
    elif a.op == 'mix':
        t = float(a.args[2])
    if a.op != 'perturb':
        blob2, header2, base2 = load(a.args[1])
    for k in tensors(header, a.prefix):
        x = values(blob, header, base, k)
        if a.op == 'swap':
            y = other(blob2, header2, base2, k, header, a.args[1])
        elif a.op == 'mix':
            z = other(blob2, header2, base2, k, header, a.args[1])
            y = array.array('f', [(1 - t) * p + t * q for p, q in zip(x, z)])
        else:
            g = [rng.gauss(0, 1) for _ in x]
            nx, ng = math.sqrt(sum(v * v for v in x)), math.sqrt(sum(v * v for v in g))
            y = array.array('f', [p + rel * nx / ng * q for p, q in zip(x, g)])
        s, e = header[k]['data_offsets']
        data[s:e] = y.tobytes()
    header.get('__metadata__', {}).pop('pwm_crc32', None)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(a.args[-1], 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + bytes(data))


if __name__ == '__main__':
    main()

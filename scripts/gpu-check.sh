#!/bin/sh
# The CUDA backend's first run on a GPU, as one short script: at most 9.5 minutes (each step has a
# time limit, and no step runs past GPU_CHECK_SECONDS, default 570, from the start), about 5
# expected on an H100/H200; the steps run most important first.
#
#   sh scripts/gpu-check.sh --prepare   on the development machine (no GPU needed): build with nvcc,
#                                       then put stripped copies of build/pwm and build/tests and
#                                       the shared libraries a bare GPU image lacks (MuJoCo,
#                                       OpenBLAS) into .gpu-check/ (git-ignored through
#                                       .git/info/exclude), about 45 MiB
#   sh scripts/gpu-check.sh [OUT]       on the GPU machine, in the repository root, with .gpu-check/
#                                       beside it (or a tree that builds there): records nvidia-smi,
#                                       `pwm version`, make test-cuda's cases (every op, a world-model
#                                       step, a PWM policy epoch, the arena's reuse, six PWM epochs
#                                       against the CPU), a short `pwm train --device cuda` against the
#                                       same run on the CPU (pwm-train.txt: each log column's largest
#                                       difference), `bench nn --device cuda` (the world-model step and
#                                       PWM's policy epoch: each part's time) at the single-task and 48M
#                                       sizes, the same on the CPU cores for reference, and PyTorch eager
#                                       (bench/pytorch_wm_step.py) when python3 has torch; into OUT
#                                       (default runs/gpu-check)
#   sh scripts/gpu-check.sh --pwm-train PWM DIR   the pwm-train step alone: random-policy data, a
#                                       small world model (on the CPU), then the same PWM run with
#                                       --device cpu and --device cuda in DIR; exit 1 when a log.csv
#                                       value differs by more than rtol 1e-3 (returns: 1e-2; MuJoCo
#                                       carries the actions' rounding differences), or eval.csv's
#                                       return by more than 1e-2
#
# Record the figures in docs/cuda.md and README.md, and drop the "not yet run on a GPU" caveat
# only once test-cuda has passed there.
set -u
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    make -j2 all build/tests || exit 1
    ./build/pwm version | grep -q 'CUDA backend: built' || { echo "gpu-check: this build has no CUDA backend (nvcc not on PATH?)"; exit 1; }
    rm -rf .gpu-check && mkdir -p .gpu-check/bin .gpu-check/lib
    strip -o .gpu-check/bin/pwm build/pwm && strip -o .gpu-check/bin/tests build/tests
    # the libraries outside the CUDA toolkit and the C runtime, as this build resolved them
    ldd build/tests | awk '/=> \// {print $3}' | grep -E 'mujoco|openblas|gfortran|quadmath|ccd|lodepng|qhull|tinyxml' |
        while read -r lib; do cp -L "$lib" .gpu-check/lib/; done
    exclude="$(git rev-parse --git-common-dir)/info/exclude"
    grep -qx '/.gpu-check/' "$exclude" 2>/dev/null || echo '/.gpu-check/' >> "$exclude"
    du -sh .gpu-check
    echo "gpu-check: ready; on the GPU machine run: sh scripts/gpu-check.sh \$OUT (carry .gpu-check)"
    exit 0
fi

if [ "${1:-}" = "--pwm-train" ]; then
    pwm=$2 dir=$3
    mkdir -p "$dir" && cd "$dir" || exit 1
    rm -rf data wm.safetensors wm.safetensors.log.csv cpu cuda
    "$pwm" collect --env hopper --policy random --steps 3000 --seed 1 --threads 4 --out data > collect.txt 2>&1 ||
        { tail -5 collect.txt; exit 1; }
    "$pwm" wm train --data data --env hopper --out wm.safetensors --steps 200 --batch 32 --horizon 8 --log-every 100 \
        --threads 4 > wm.txt 2>&1 || { tail -5 wm.txt; exit 1; }
    for d in cpu cuda; do
        "$pwm" train --env hopper --wm wm.safetensors --data data --envs 16 --horizon 16 --epochs 6 --eval-every 3 \
            --save-every 3 --eval-episodes 2 --actor-units 64,64 --critic-units 64 --wm-batch 32 --threads 4 \
            --device $d --out $d > $d.txt 2>&1
        echo "--device $d: exit $?"
        head -1 $d.txt
        tail -1 $d.txt
    done
    [ -f cpu/log.csv ] && [ -f cuda/log.csv ] && [ -f cpu/eval.csv ] && [ -f cuda/eval.csv ] || exit 1
    # per log column (wall_s aside): the largest |cuda - cpu| / max(|cuda|, |cpu|); fail past the tolerance
    paste -d, cpu/log.csv cuda/log.csv | awk -F, '
        NR == 1 { n = NF / 2; for (i = 1; i <= n; i++) name[i] = $i; next }
        { for (i = 1; i <= n; i++) {
              if (i == 3) continue
              a = $i; b = $(i + n)
              if (a == b || (a ~ /nan/ && b ~ /nan/)) continue
              if (a ~ /nan/ || b ~ /nan/) { worst[i] = 1e9; continue }
              d = a - b; d = d < 0 ? -d : d
              m = a < 0 ? -a : a; mb = b < 0 ? -b : b; m = m > mb ? m : mb
              r = d / (m > 1e-30 ? m : 1e-30)
              if (d > 1e-5 && r > worst[i]) worst[i] = r
          } }
        END { bad = 0
              for (i = 1; i <= n; i++) if (i != 3) {
                  tol = (name[i] ~ /return/) ? 1e-2 : 1e-3
                  printf "%-16s largest relative difference %.3g (tolerance %g)%s\n", name[i], worst[i] + 0, tol,
                         (worst[i] > tol ? "  FAIL" : "")
                  if (worst[i] > tol) bad = 1 }
              exit bad }' || exit 1
    paste -d, cpu/eval.csv cuda/eval.csv | awk -F, 'NR == 1 { n = NF / 2; for (i = 1; i <= n; i++) if ($i == "mean_return") k = i; next }
        { a = $k; b = $(k + n); d = a - b; d = d < 0 ? -d : d; m = a < 0 ? -a : a
          printf "final evaluation: cpu %s, cuda %s\n", a, b; exit (d > 1e-2 * m + 1e-5) }' || exit 1
    echo "pwm-train: the CUDA run matches the CPU run within tolerance"
    exit 0
fi

out=${1:-runs/gpu-check}
mkdir -p "$out"
if [ -x .gpu-check/bin/pwm ]; then
    export LD_LIBRARY_PATH="$PWD/.gpu-check/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    pwm=.gpu-check/bin/pwm tests=.gpu-check/bin/tests
    # cuBLAS where this machine keeps it, if not under /usr/local/cuda/lib64 (the binaries' rpath)
    if ldd "$tests" | grep -q 'libcublas.*not found'; then
        dir=$(find /usr/local /opt /usr/lib -name 'libcublas.so.13*' 2>/dev/null | head -1 | xargs -r dirname)
        [ -n "$dir" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$dir"
    fi
    ldd "$tests" | grep 'not found' && echo "gpu-check: libraries missing (above); see docs/cuda.md"
else
    make -j"$(nproc)" > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
    pwm=build/pwm tests=build/tests
fi
# 48M-size runs need more than the default arena
export PWM_CUDA_ARENA_MB=${PWM_CUDA_ARENA_MB:-40000}
end=$(( $(date +%s) + ${GPU_CHECK_SECONDS:-570} ))
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output in OUT/NAME.txt
    name=$1 limit=$2
    shift 2
    left=$(( end - $(date +%s) ))
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name: $*"
    [ "$limit" -lt 5 ] && { echo "   skipped: the script's time is up (GPU_CHECK_SECONDS)"; return; }
    timeout "$limit" "$@" > "$out/$name.txt" 2>&1
    echo "   exit $? ($name.txt, limit ${limit} s)"
    tail -20 "$out/$name.txt"
}
step nvidia-smi 20 nvidia-smi
step version 10 "$pwm" version
step test-cuda 180 "$tests" cuda_tests
step pwm-train 90 sh scripts/gpu-check.sh --pwm-train "$PWD/$pwm" "$out/pwm-train"
# each bench: the world-model step, then PWM's policy epoch (about 10 world-model steps' work: the
# actor's 16-step rollout and backward, 32 critic minibatches, 8 fine-tuning steps)
step bench-cuda-single 90 "$pwm" bench nn --device cuda --steps 10 --warmup 2 --epochs 5
step bench-cuda-paper 150 "$pwm" bench nn --device cuda --size paper --steps 5 --warmup 1 --epochs 3
step bench-cpu-single 75 "$pwm" bench nn --device cpu --steps 5 --warmup 1 --epochs 2
if python3 -c 'import torch' 2>/dev/null; then
    # the same steps and epochs as the bench-cuda steps above
    step torch-single 60 python3 bench/pytorch_wm_step.py --device cuda --size single --steps 10 --warmup 2
    step torch-paper 90 python3 bench/pytorch_wm_step.py --device cuda --size paper --steps 5 --warmup 1
fi

#!/bin/sh
# The CUDA backend's first run on a GPU, as one short script: at most 10 minutes (each step has a
# time limit), about 5 expected on an H100/H200.
#
#   sh scripts/gpu-check.sh --prepare   on the development machine (no GPU needed): build with nvcc,
#                                       then put stripped copies of build/pwm and build/tests and
#                                       the shared libraries a bare GPU image lacks (MuJoCo,
#                                       OpenBLAS) into .gpu-check/ (git-ignored through
#                                       .git/info/exclude), about 55 MiB
#   sh scripts/gpu-check.sh [OUT]       on the GPU machine, in the repository root, with .gpu-check/
#                                       beside it (or a tree that builds there): records nvidia-smi,
#                                       `pwm version`, make test-cuda's cases (every op, a world-model
#                                       step, a PWM actor step against the CPU), `bench nn --device
#                                       cuda` at the single-task and 48M sizes, the same on the CPU
#                                       cores for reference, and PyTorch eager (bench/pytorch_wm_step.py)
#                                       when python3 has torch; into OUT (default runs/gpu-check)
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
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output in OUT/NAME.txt
    name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    timeout "$limit" "$@" > "$out/$name.txt" 2>&1
    echo "   exit $? ($name.txt)"
    tail -12 "$out/$name.txt"
}
step nvidia-smi 20 nvidia-smi
step version 10 "$pwm" version
step test-cuda 180 "$tests" cuda_tests
step bench-cuda-single 90 "$pwm" bench nn --device cuda --steps 10 --warmup 2
step bench-cuda-paper 120 "$pwm" bench nn --device cuda --size paper --steps 5 --warmup 1
step bench-cpu-single 60 "$pwm" bench nn --device cpu --steps 5 --warmup 1
if python3 -c 'import torch' 2>/dev/null; then
    step torch-single 45 python3 bench/pytorch_wm_step.py --device cuda --size single --steps 10
    step torch-paper 90 python3 bench/pytorch_wm_step.py --device cuda --size paper --steps 5
fi

# make            build build/pwm (installs missing Debian packages first, see `make deps`)
# make test       build and run the test suite (build/tests) after `make check-layers`, then test-slurm
# make check-layers  the include check alone: folders include only their own and lower layers' headers
# make test SANITIZE=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer (without test-slurm)
# make test-slurm  the Slurm executor on a single-node Slurm the test starts (make test runs it too)
# make test-cuda  the GPU checks of the CUDA backend against the CPU (skip without a GPU)
# make CUDA=0     a CPU-only build even where nvcc is found
# make deps       install libmujoco-dev, libopenblas-dev, gnuplot-nox, munge and Slurm when missing
# make demo       the quick Hopper comparison, SHAC vs PWM vs PPO, one seed (runs/demo)
# make clean

CC      ?= cc
SANITIZE ?= 0
BUILD   := build
ifeq ($(SANITIZE),1)
BUILD   := build/sanitize
endif

CFLAGS  := -std=c11 -O3 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Werror=implicit-function-declaration -D_GNU_SOURCE -fopenmp -fno-trapping-math \
           -I/usr/include/mujoco -MMD -MP
# AVX2 + FMA when this CPU has them (FMA contraction stays off under -std=c11, so results match
# the scalar code); ARCH= overrides, e.g. ARCH=-march=native or ARCH= for a portable build
ARCH    ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null && echo -march=x86-64-v3)
CFLAGS  += $(ARCH)
LDLIBS  := -lmujoco -lopenblas -lm -lpthread
LDFLAGS := -fopenmp
ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# modules, bottom of the data flow first; every .c in them is part of the program and the tests
MODULES := nn opts physics envs worldmodel policy experiments plots bench cli
LIB_SRC := $(filter-out cli/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

# dependency check: if a header or library is missing, objects wait for `make deps`
HAVE_DEPS := $(and $(wildcard /usr/include/mujoco/mujoco.h),$(wildcard /usr/include/*/cblas.h /usr/include/cblas.h),$(shell command -v gnuplot 2>/dev/null))
DEPS_PREREQ := $(if $(HAVE_DEPS),,deps)

# the flags in use, once per run
ifneq ($(MAKECMDGOALS),clean)
$(info cflags: $(CFLAGS))
endif

# nvcc: detected and reported. Where it is found the CUDA backend (nn/cuda/*.cu) is compiled and
# linked in (CUDA=0 turns it off; SANITIZE=1 builds without it); the CPU path is the same either way
# (on PATH, else the toolkit's usual place)
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA ?= $(if $(NVCC),1,0)
ifeq ($(SANITIZE),1)
CUDA := 0
endif
CU_SRC := $(wildcard nn/cuda/*.cu)
CU_OBJ :=
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc is not on PATH: add the CUDA toolkit's bin/ to PATH, or build with CUDA=0)
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# Ampere (sm_80) and Hopper (sm_90, H100/H200) code, plus PTX that newer GPUs compile at load
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
# --fmad=false: no FMA contraction, as the CPU build, so kernels.h's arithmetic rounds alike
NVFLAGS := -O3 -std=c++17 --fmad=false -Xcompiler -Wall $(CUDA_ARCH) -MMD -MP
CU_OBJ  := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
CFLAGS  += -DPWM_CUDA
LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart_static -ldl -lrt -lstdc++
endif
ifneq ($(MAKECMDGOALS),clean)
$(info nvcc: $(if $(NVCC),found at $(NVCC),not found); CUDA backend: $(if $(filter 1,$(CUDA)),built (not yet run on a GPU),off (CPU-only build)); cpu flags: $(if $(ARCH),$(ARCH),portable x86-64))
endif

# the flags in build/flags.txt, rewritten only when they change, so switching CUDA or ARCH rebuilds
$(shell mkdir -p $(BUILD) && echo '$(CFLAGS) | $(NVFLAGS)' > $(BUILD)/flags.txt.new && \
        (cmp -s $(BUILD)/flags.txt.new $(BUILD)/flags.txt || cp $(BUILD)/flags.txt.new $(BUILD)/flags.txt))

# the git commit goes into build/version.h, rewritten only when it changes
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
NVCC_VERSION := $(if $(filter 1,$(CUDA)),$(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))
$(shell mkdir -p $(BUILD) && (echo '#define PWM_GIT_COMMIT "$(GIT_COMMIT)"'; echo '#define PWM_NVCC_VERSION "$(NVCC_VERSION)"') > $(BUILD)/version.h.new && \
        (cmp -s $(BUILD)/version.h.new $(BUILD)/version.h || cp $(BUILD)/version.h.new $(BUILD)/version.h))

.PHONY: all test test-slurm test-cuda check-layers deps clean demo
all: $(BUILD)/pwm

$(BUILD)/pwm: $(LIB_OBJ) $(CU_OBJ) $(BUILD)/obj/cli/main.o
	@echo "ld $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests: $(LIB_OBJ) $(CU_OBJ) $(TEST_OBJ)
	@echo "ld $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c $(BUILD)/flags.txt | $(DEPS_PREREQ)
	@mkdir -p $(dir $@)
	@echo "cc $<"
	@$(CC) $(CFLAGS) -I$(BUILD) -c -o $@ $<

$(BUILD)/obj/%.o: %.cu $(BUILD)/flags.txt
	@mkdir -p $(dir $@)
	@echo "nvcc $<"
	@$(NVCC) $(NVFLAGS) -c -o $@ $<

test: $(BUILD)/tests $(BUILD)/pwm check-layers
	./$(BUILD)/tests
ifeq ($(SANITIZE),0)
	@$(MAKE) --no-print-directory test-slurm
endif

# the Slurm executor against a real single-node Slurm that tests/slurm.sh starts and stops (about
# 1-2 minutes); it says SKIPPED, and passes, where munge/slurm are missing or the daemons do not
# start, unless PWM_REQUIRE_SLURM=1 (.ci/run)
test-slurm: $(BUILD)/pwm
	sh tests/slurm.sh $(BUILD)/pwm

# folders include only their own headers and those of lower layers (docs/architecture.md)
check-layers:
	@sh scripts/check-layers.sh

# the CUDA backend against the CPU on a GPU: every op, a world-model training step, a PWM policy
# epoch, the arena's reuse, six pwm train epochs (tests/test_cuda.c); each case skips with the reason where there is no GPU or CUDA build
test-cuda: $(BUILD)/tests
	./$(BUILD)/tests cuda_tests

deps:
	@sh scripts/deps.sh

# the quick Hopper comparison, SHAC vs PWM vs PPO (PWM collects random data and pretrains its world
# model first), one seed, matched env-step budgets: about 7 minutes on an idle 2-core VM; results in
# runs/demo (summary.md, return_vs_steps.png, return_vs_time.png)
demo: $(BUILD)/pwm
	rm -rf runs/demo
	./$(BUILD)/pwm compare --env hopper --preset quick --seeds 1 --out runs/demo

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(CU_OBJ:.o=.d) $(BUILD)/obj/cli/main.d

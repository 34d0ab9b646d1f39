# make            build build/pwm (installs missing Debian packages first, see `make deps`)
# make test       build and run the test suite (build/tests)
# make test SANITIZE=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer
# make deps       install libmujoco-dev, libopenblas-dev, gnuplot-nox when missing
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
MODULES := nn physics envs worldmodel policy experiments plots bench cli
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

# nvcc: detected and reported; the CPU build never needs it
NVCC := $(shell command -v nvcc 2>/dev/null)
ifneq ($(MAKECMDGOALS),clean)
$(info nvcc: $(if $(NVCC),found at $(NVCC),not found (CPU-only build)); cpu flags: $(if $(ARCH),$(ARCH),portable x86-64))
endif

# the git commit goes into build/version.h, rewritten only when it changes
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
$(shell mkdir -p $(BUILD) && echo '#define PWM_GIT_COMMIT "$(GIT_COMMIT)"' > $(BUILD)/version.h.new && \
        (cmp -s $(BUILD)/version.h.new $(BUILD)/version.h || cp $(BUILD)/version.h.new $(BUILD)/version.h))

.PHONY: all test deps clean demo
all: $(BUILD)/pwm

$(BUILD)/pwm: $(LIB_OBJ) $(BUILD)/obj/cli/main.o
	@echo "ld $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests: $(LIB_OBJ) $(TEST_OBJ)
	@echo "ld $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c | $(DEPS_PREREQ)
	@mkdir -p $(dir $@)
	@echo "cc $<"
	@$(CC) $(CFLAGS) -I$(BUILD) -c -o $@ $<

test: $(BUILD)/tests $(BUILD)/pwm
	./$(BUILD)/tests

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

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/cli/main.d

#include "device.h"

#include <stdio.h>
#include <string.h>

#include "common.h"
#ifdef PWM_CUDA
#include "cuda/cuda.h"
#endif

int nn_cuda_active;

int nn_device_cuda_built(void) {
#ifdef PWM_CUDA
    return 1;
#else
    return 0;
#endif
}

// start the CUDA backend once; 0 or -1 with the reason
static int start_cuda(char *err, size_t errlen) {
#ifdef PWM_CUDA
    static int started;
    if (!started && cuda_init(err, errlen)) return -1;
    started = 1;
    return 0;
#else
    return nn_err(err, errlen, "this build has no CUDA backend (built without nvcc or with CUDA=0; rebuild with "
                               "the CUDA toolkit on PATH)");
#endif
}

int nn_device_select(const char *name, char *err, size_t errlen) {
    char why[256];
    if (!strcmp(name, "cpu")) {
        nn_cuda_active = 0;
    } else if (!strcmp(name, "cuda")) {
        if (start_cuda(why, sizeof why)) return nn_err(err, errlen, "--device cuda: %s; use --device cpu or auto", why);
        nn_cuda_active = 1;
    } else if (!strcmp(name, "auto")) {
        nn_cuda_active = !start_cuda(why, sizeof why);
        if (!nn_cuda_active) fprintf(stderr, "pwm: note: --device auto: using the CPU (%s)\n", why);
    } else {
        return nn_err(err, errlen, "unknown device '%s': use auto, cpu or cuda", name);
    }
    return 0;
}

nn_device nn_device_current(void) { return nn_cuda_active ? NN_DEVICE_CUDA : NN_DEVICE_CPU; }

const char *nn_device_describe(void) {
#ifdef PWM_CUDA
    static char buf[300];
    if (nn_cuda_active) {
        snprintf(buf, sizeof buf, "cuda (%s)", cuda_device_name());
        return buf;
    }
#endif
    return "cpu";
}

void *nn_device_alloc(size_t bytes) {
#ifdef PWM_CUDA
    if (nn_cuda_active) return cuda_alloc(bytes);
#endif
    return nn_malloc(bytes);
}

void nn_device_free(void *p) {
#ifdef PWM_CUDA
    if (p && cuda_owns(p)) {
        cuda_free(p);
        return;
    }
#endif
    nn_free(p);
}

void nn_device_zero(void *p, size_t bytes) {
#ifdef PWM_CUDA
    if (cuda_owns(p)) {
        cuda_zero(p, bytes);
        return;
    }
#endif
    // large buffers in 256 KiB pieces over the threads (gradients are zeroed on every pass)
    enum { PIECE = 256 << 10 };
    if (bytes < 2 * PIECE) {
        memset(p, 0, bytes);
        return;
    }
    long pieces = (long)((bytes + PIECE - 1) / PIECE);
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < pieces; i++) {
        size_t lo = (size_t)i * PIECE;
        memset((char *)p + lo, 0, lo + PIECE <= bytes ? PIECE : bytes - lo);
    }
}

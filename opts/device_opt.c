#include "device_opt.h"

#include <stdio.h>

#include "../nn/device.h"

int device_opt_select(const char *device, const char *prog) {
    char err[512];
    if (nn_device_select(device, err, sizeof err)) return fprintf(stderr, "%s: %s\n", prog, err), 1;
    return 0;
}

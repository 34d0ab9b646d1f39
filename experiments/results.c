#include "results.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "executor.h"
#include "version.h"


int res_dir(char *dir, size_t n, const char *experiment, const char *out, char *err, size_t errlen) {
    if (out) {
        snprintf(dir, n, "%s", out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(dir, n, "results/%s/%s", experiment, stamp);
    }
    if (nn_mkdirs(dir)) return nn_err(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

void res_machine(char *buf, size_t n) {
    char host[256] = "unknown";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    char blas[160];
    nn_blas_kernel(blas, sizeof blas);
    snprintf(buf, n, "%s, %ld cores, %s", host, sysconf(_SC_NPROCESSORS_ONLN), blas);
}

void res_command(char *buf, size_t n, int argc, char **argv) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < argc && len + 1 < n; i++) {
        // quote arguments holding anything but a conservative set of characters
        const char *a = argv[i];
        int plain = a[0] != 0 && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+") ==
                                     strlen(a);
        len += (size_t)snprintf(buf + len, n - len, plain ? "%s%s" : "%s'%s'", i ? " " : "", a);
    }
}

FILE *res_summary_open(const char *dir, const char *title, const char *command, const char *seeds, double wall_s) {
    char path[1200], machine[300];
    snprintf(path, sizeof path, "%s/summary.md", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pwm: cannot write %s: %s\n", path, strerror(errno));
        return NULL;
    }
    res_machine(machine, sizeof machine);
    fprintf(f, "# %s\n\n", title);
    fprintf(f, "Command: `%s`  \nGit commit: %s  \nMachine: %s  \nSeeds: %s  \nWall time: %.1f s  \n\n", command,
            PWM_GIT_COMMIT, machine, seeds, ex_wall(wall_s));
    return f;
}

void res_mean_std(const double *x, int n, double *mean, double *sd) {
    double a = 0, b = 0;
    for (int i = 0; i < n; i++) a += x[i] / n;
    for (int i = 0; i < n; i++) b += (x[i] - a) * (x[i] - a) / (n > 1 ? n - 1 : 1);
    *mean = a, *sd = sqrt(b);
}

void res_plot_script(char *buf, size_t n, const char *name) {
    nn_tree_file(buf, n, "PWM_PLOTS", "plots", name);
}

int res_gnuplot(const char *script, const char *vars) {
    char gp[1200], cmd[4096];
    res_plot_script(gp, sizeof gp, script);
    if (!nn_file_exists(gp)) {
        fprintf(stderr, "pwm: no gnuplot script %s, so no plot; the CSVs are written (set PWM_PLOTS to the folder "
                "holding %s, the source tree's plots/)\n", gp, script);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "gnuplot -e \"%s\" '%s'", vars, gp);
    if (system(cmd)) {
        fprintf(stderr, "pwm: gnuplot failed (%s); the CSVs are written\n", cmd);
        return -1;
    }
    return 0;
}

void res_add_args(char **args, char *const *more) {
    while (*args) args++;
    for (; *more; more++) *args++ = *more;
}

double res_stage_done(const char *marker) {
    FILE *f = fopen(marker, "r");
    if (!f) return -1;
    double t = -1;
    if (fscanf(f, "%lf", &t) != 1) t = -1;
    fclose(f);
    return t;
}

void res_mark_done(const char *marker, double wall) {
    FILE *f = fopen(marker, "w");
    if (f) fprintf(f, "%.3f\n", wall), fclose(f);
}

int res_clear_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    char path[1400];
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        rc |= unlink(path);
    }
    closedir(d);
    return rc | rmdir(dir);
}

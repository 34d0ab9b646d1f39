#include "exitcode.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t requested;

static void on_signal(int sig) { requested = sig; }

void nn_preempt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in flight complete; the loops poll the flag
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int nn_preempted(void) { return requested != 0; }
int nn_preempt_signal(void) { return requested; }
void nn_preempt_reset(void) { requested = 0; }

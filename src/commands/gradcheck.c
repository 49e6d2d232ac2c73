/* gradcheck.c: `train gradcheck [--threads N]`. */
#include "commands/gradcheck.h"
#include "instruments/gradcheck.h"
#include "kernels/kernels.h"
#include "run/config.h"
#include "util/util.h"

int cmd_gradcheck(int argc, char **argv) {
    Config c;
    config_defaults(&c);
    config_parse_args(&c, argc, argv, 1, NULL, NULL);
    config_check_reads(&c, "train gradcheck", "--threads", "it checks built-in networks of its own");
    kernels_set_threads((int)c.threads);
    return gradcheck_run(stdout, 1.0) ? EXIT_FAIL : 0;
}

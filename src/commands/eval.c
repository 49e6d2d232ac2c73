/* eval.c: `train eval`: a checkpoint's loss and accuracy on the test set of its data (or of
 * --data). The model, loss and arithmetic (denormal mode) are the stored run's; a file from
 * elsewhere (no stored run) is described by --model (run/weights.h). */
#include "commands/eval.h"
#include "run/evaluate.h"
#include "run/trainer.h"
#include "run/weights.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

int cmd_eval(int argc, char **argv) {
    Config flags;
    config_defaults(&flags);
    config_parse_args(&flags, argc, argv, 1, NULL, NULL);
    if (!flags.ckpt[0]) fatal(EXIT_USAGE, "eval: --ckpt FILE is required (a checkpoint or a run directory)");
    config_check_reads(&flags, "train eval", "--ckpt --data --threads --mpi-timeout --quiet --model --act "
                       "--norm --dropout --loss --label-smoothing", NULL);
    Weights w;
    weights_open(&w, &flags, "eval");
    Config c = w.c;
    if (config_given(&flags, "data")) strcpy(c.data, flags.data);
    c.threads = flags.threads;
    c.mpi_timeout = flags.mpi_timeout;
    Trainer t;
    trainer_setup(&t, &c, SETUP_EVAL, &w.file, w.path);
    EvalResult r = evaluate(&t.net, &t.test, t.scratch_idx, t.labels);
    printf("test_loss %.6f\ntest_acc %.4f\nexamples %ld\ncheckpoint %s\n", r.loss, r.acc, r.n, w.path);
    trainer_free(&t);
    weights_close(&w);
    return 0;
}

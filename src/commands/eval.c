/* eval.c: `train eval`: a checkpoint's loss and accuracy on the test set of its data (or of
 * --data). The model, loss and arithmetic (denormal mode) are the stored run's. */
#include "commands/eval.h"
#include "run/evaluate.h"
#include "run/trainer.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

int cmd_eval(int argc, char **argv) {
    Config flags;
    config_defaults(&flags);
    config_parse_args(&flags, argc, argv, 1, NULL, NULL);
    if (!flags.ckpt[0]) fatal(EXIT_USAGE, "eval: --ckpt FILE is required");
    char err[ERR_LEN];
    StFile f;
    if (st_read(flags.ckpt, &f, err) != 0) fatal(EXIT_FAIL, "%s", err);
    Config c;
    config_defaults(&c);
    if (ckpt_config(&f, &c, err) != 0) fatal(EXIT_FAIL, "%s: %s", flags.ckpt, err);
    if (config_given(&flags, "data")) strcpy(c.data, flags.data);
    c.threads = flags.threads;
    c.mpi_timeout = flags.mpi_timeout;
    Trainer t;
    trainer_setup(&t, &c, SETUP_EVAL, &f, flags.ckpt);
    EvalResult r = evaluate(&t.net, &t.test, t.scratch_idx, t.labels);
    printf("test_loss %.6f\ntest_acc %.4f\nexamples %ld\n", r.loss, r.acc, r.n);
    trainer_free(&t);
    st_free(&f);
    return 0;
}

/* eval.c: `train eval`: a checkpoint's loss and accuracy on the test set of its data (or of
 * --data). The model, loss and arithmetic (denormal mode) are the stored run's; a file with
 * weights alone (from PyTorch) is evaluated as the model --model describes. */
#include "commands/eval.h"
#include "run/evaluate.h"
#include "run/resolve.h"
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
    if (ckpt_check_origin(&f, flags.ckpt, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (!st_meta_get(&f, "config")) {
        /* weights from elsewhere (PyTorch): the model is what --model and its flags say */
        if (!config_given(&flags, "model"))
            fatal(EXIT_USAGE, "eval: %s holds no model description (not written by train): give "
                  "--model", flags.ckpt);
        c = flags;
        if (resolve_model(&c, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
        config_finalize(&c);
    } else if (ckpt_config(&f, &c, err) != 0) {
        fatal(EXIT_FAIL, "%s: %s", flags.ckpt, err);
    } else if (config_given(&flags, "model") && strcmp(flags.model, c.model)) {
        fatal(EXIT_USAGE, "--model: %s holds its own model (%s); --model is for files without one",
              flags.ckpt, c.model);
    }
    if (config_given(&flags, "data")) strcpy(c.data, flags.data);
    c.threads = flags.threads;
    Trainer t;
    trainer_setup(&t, &c, SETUP_EVAL, &f, flags.ckpt);
    EvalResult r = evaluate(&t.net, &t.test, t.scratch_idx, t.labels);
    printf("test_loss %.6f\ntest_acc %.4f\nexamples %ld\n", r.loss, r.acc, r.n);
    trainer_free(&t);
    st_free(&f);
    return 0;
}

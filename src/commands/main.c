/* main.c: subcommand dispatch. `train [flags]` trains; see usage() for the rest. */
#include "commands/compare.h"
#include "run/config.h"
#include "run/eval.h"
#include "instruments/gradcheck.h"
#include "commands/inspect.h"
#include "commands/lrtools.h"
#include "optim/optim.h"
#include "commands/sweep.h"
#include "run/train.h"
#include "util/util.h"

#include <string.h>

#define VERSION "0.1.0"

static void usage(FILE *out) {
    fprintf(out,
            "usage: train [flags]                 train a model (the default subcommand)\n"
            "       train eval --ckpt FILE        test-set loss and accuracy of a checkpoint\n"
            "       train gradcheck               check every op's gradient by finite differences\n"
            "       train schedule [flags]        print lr (and momentum) per step as CSV, write an SVG\n"
            "       train lr-find [flags]         LR range test: loss over an exponential lr sweep\n"
            "       train optimizers              list optimizers and their update rules\n"
            "       train compare RUN_DIR...      table and curves of finished runs (--csv, --out FILE)\n"
            "       train sweep [flags]           one run per combination of comma-listed values\n"
            "       train inspect RUN_DIR|CKPT    per-tensor statistics and metadata of a checkpoint\n"
            "       train --help | --version\n");
    config_print_help(out);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--version")) { printf("train " VERSION "\n"); return 0; }
        if ((!strcmp(argv[i], "--opt") && i + 1 < argc && !strcmp(argv[i + 1], "help")) ||
            !strcmp(argv[i], "--opt=help")) {
            optim_print_help(stdout);
            return 0;
        }
    }
    if (argc > 1 && argv[1][0] != '-') {
        const char *cmd = argv[1];
        if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
        if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
        if (!strcmp(cmd, "gradcheck")) return cmd_gradcheck(argc - 1, argv + 1);
        if (!strcmp(cmd, "schedule")) return cmd_schedule(argc - 1, argv + 1);
        if (!strcmp(cmd, "lr-find")) return cmd_lr_find(argc - 1, argv + 1);
        if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
        if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 1, argv + 1);
        if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 1, argv + 1);
        if (!strcmp(cmd, "optimizers")) { optim_print_help(stdout); return 0; }
        if (!strcmp(cmd, "help")) { usage(stdout); return 0; }
        fatal(EXIT_USAGE, "%s: unknown subcommand (see train --help)", cmd);
    }
    return cmd_train(argc, argv);
}

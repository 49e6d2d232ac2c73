/* main.c: subcommand dispatch. `train [flags]` trains; every other command is a row of the
 * table below, implemented in its own file of commands/. */
#include "commands/compare.h"
#include "commands/curvature.h"
#include "commands/eval.h"
#include "commands/export_images.h"
#include "commands/export_onnx.h"
#include "commands/gradcheck.h"
#include "commands/inspect.h"
#include "commands/landscape.h"
#include "commands/lr_find.h"
#include "commands/predict.h"
#include "commands/schedule.h"
#include "commands/sweep.h"
#include "commands/train.h"
#include "commands/trajectories.h"
#include "optim/optim.h"
#include "run/config.h"
#include "run/dist.h"
#include "run/optim_memory.h"
#include "util/fsio.h"
#include "util/util.h"

#include <string.h>

#define VERSION "0.2.0"

static int cmd_optimizers(int argc, char **argv) {
    if (argc > 1) fatal(EXIT_USAGE, "optimizers: takes no arguments ('%s' given)", argv[1]);
    optim_print_help(stdout, optim_default_memory, OPTIM_MEMORY_MODEL);
    return 0;
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage, *what;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "train [flags]", "train a model (the default subcommand)"},
    {"eval", cmd_eval, "eval --ckpt FILE", "test-set loss and accuracy of a checkpoint"},
    {"gradcheck", cmd_gradcheck, "gradcheck", "check every layer's gradient and Hessian-vector product by finite differences"},
    {"schedule", cmd_schedule, "schedule [flags]", "print lr (and momentum) per step as CSV, write an SVG"},
    {"lr-find", cmd_lr_find, "lr-find [flags]", "LR range test: loss over an exponential lr sweep"},
    {"optimizers", cmd_optimizers, "optimizers", "list optimizers and their update rules"},
    {"compare", cmd_compare, "compare RUN_DIR...", "table and curves of finished runs (--csv, --out FILE)"},
    {"sweep", cmd_sweep, "sweep [flags]", "one run per combination of comma-listed values"},
    {"inspect", cmd_inspect, "inspect RUN_DIR|CKPT", "per-tensor statistics and metadata of a checkpoint"},
    {"curvature", cmd_curvature, "curvature RUN|CKPT", "largest Hessian eigenvalues (--top K) and trace (--trace) of the training loss"},
    {"landscape", cmd_landscape, "landscape RUN|CKPT", "loss on a plane through a checkpoint (or the line --from A --to B)"},
    {"trajectories", cmd_trajectories, "trajectories [flags]", "optimizers on a 2-D test function: paths, SVG, CSV"},
    {"predict", cmd_predict, "predict --ckpt F IMAGE...", "top classes and probabilities of images (- : paths on stdin)"},
    {"export-images", cmd_export_images, "export-images --out DIR", "write a dataset as PNGs in the image-folder layout"},
    {"export", cmd_export, "export --onnx F --ckpt F", "the trained network as an ONNX model (opset 17)"},
};
#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *out) {
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "%s train %-26s %s\n", i ? "      " : "usage:", commands[i].usage, commands[i].what);
    fprintf(out, "       train --help | --version\n");
    config_print_help(out);
}

int main(int argc, char **argv) {
    fsio_check_stdout_at_exit();   /* output lost to a full disk is an error, not exit 0 */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--version")) { printf("train " VERSION " (%s)\n", dist_version()); return 0; }
        if ((!strcmp(argv[i], "--opt") && i + 1 < argc && !strcmp(argv[i + 1], "help")) ||
            !strcmp(argv[i], "--opt=help"))
            return cmd_optimizers(argc, argv);
    }
    dist_start(argc > 1 && argv[1][0] != '-' ? argv[1] : "train", argc, argv);
    if (argc > 1 && argv[1][0] != '-') {
        if (!strcmp(argv[1], "help")) { usage(stdout); return 0; }
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
        fatal(EXIT_USAGE, "%s: unknown subcommand (see train --help)", argv[1]);
    }
    return cmd_train(argc, argv);
}

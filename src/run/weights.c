/* weights.c: the network a --ckpt argument names, see weights.h. */
#include "run/weights.h"
#include "nn/model.h"
#include "run/checkpoint.h"
#include "run/memguard.h"
#include "run/resolve.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* The file a run directory stands for: the weights of its final report. */
static void run_weights(const char *dir, char *out, size_t len) {
    char path[RUN_DIR_LEN + 32], err[ERR_LEN];
    const char *file = RUN_LAST;
    rundir_path(dir, RUN_SUMMARY, path, sizeof path);
    size_t n;
    char *text = is_file(path) ? read_file(path, &n, err) : NULL;
    Json j;
    if (text && json_parse(text, n, &j, err) == 0) {
        const Json *stopped = json_get(&j, "stopped");
        if (stopped && stopped->type == JSON_STRING && !strcmp(stopped->string, "early-stop")) file = RUN_BEST;
        json_free(&j);
    }
    free(text);
    rundir_path(dir, file, out, len);
}

void weights_open(Weights *w, const Config *flags, const char *command) {
    char err[ERR_LEN];
    memset(w, 0, sizeof *w);
    if (!flags->ckpt[0]) fatal(EXIT_USAGE, "%s: --ckpt FILE is required (a checkpoint or a run directory)", command);
    if (is_dir(flags->ckpt)) run_weights(flags->ckpt, w->path, sizeof w->path);
    else snprintf(w->path, sizeof w->path, "%s", flags->ckpt);
    if (st_read(w->path, &w->file, err) != 0 || ckpt_check_origin(&w->file, w->path, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    static const char *const model_flags[] = {"model", "act", "norm", "dropout", "loss", "label-smoothing"};
    config_defaults(&w->c);
    if (st_meta_get(&w->file, "config")) {
        if (ckpt_config(&w->file, &w->c, err) != 0) fatal(EXIT_FAIL, "%s: %s", w->path, err);
        for (int i = 0; i < 6; i++)
            if (config_given(flags, model_flags[i]))
                fatal(EXIT_USAGE, "--%s: %s holds its model's description (%s); --%s is for files "
                      "without one", model_flags[i], w->path, w->c.model, model_flags[i]);
        return;
    }
    /* a file from elsewhere: the flags say what network it holds */
    w->foreign = 1;
    if (!config_given(flags, "model"))
        fatal(EXIT_USAGE, "%s: has no description of its model (not written by train; PyTorch's "
              "save_file?): give --model (sizes like 784-256-10, or a list of layers) and --act, "
              "--norm as it was built", w->path);
    w->c = *flags;
    if (resolve_model(&w->c, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
}

void weights_build_net(const Weights *w, Net *n, int capacity) {
    char err[ERR_LEN];
    ModelSpec spec;
    if (resolve_model_spec(&w->c, &spec, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    int input = spec.input;
    const StTensor *first = st_find(&w->file, "0.weight");
    if (!input && first && first->ndim >= 1) input = (int)first->shape[first->ndim - 1];
    if (!input) fatal(EXIT_USAGE, "--model: %s: give the input width (input N first)", w->c.model);
    if (model_build(n, &spec, input, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    if (memguard_check(n, capacity, &w->c, 0, 0, &w->file, w->path, err) != 0) fatal(EXIT_FAIL, "%s", err);
    net_alloc(n, capacity);
    if (ckpt_load_model(&w->file, n, w->path, err) != 0) fatal(EXIT_FAIL, "%s", err);
    n->training = 0;
}

void weights_close(Weights *w) {
    st_free(&w->file);
}

/* predict.c: `train predict --ckpt FILE|RUN_DIR IMAGE...`: the most probable classes of each
 * image, with their probabilities (softmax of the network's outputs), named as the training
 * data named them.
 *
 * An image goes through what a training image went through: decoded to 8-bit grayscale as an
 * image folder's images are (luminance, alpha dropped), then pixel / 255 (dataset_gather
 * itself), into the network in evaluation mode. It must have the training images' size.
 * --invert turns dark strokes on a light background into the light-on-dark of MNIST (255 -
 * pixel); without the flag an image is inverted when that is obvious: its border is bright
 * (mean above 191) while the training images' was dark (below 64), or the other way round.
 * Each inversion is reported on stderr.
 *
 * Output, one line per image: "PATH: NAME (P%), NAME (P%), ..." (--top of them). An image
 * that cannot be read is reported (train: PATH: why) and the others are still predicted;
 * the exit code is then 1. "-" reads image paths from stdin, one per line. */
#include "commands/predict.h"
#include "data/classes.h"
#include "data/imagefolder.h"
#include "kernels/kernels.h"
#include "run/datainfo.h"
#include "run/trainer.h"
#include "run/weights.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Net net;
    int want_w, want_h;        /* the training images' size, or 0 when the run did not say */
    const char *background;    /* the training images' ("dark", "light" or "") */
    int invert;                /* -1: when obvious; 0, 1: --invert off / on */
    int top, quiet;
    char **names;
    int n_names;
    double *prob;
    int *order;
} Predictor;

/* 1 when the image's border says its background is the opposite of the training images'. */
static int obviously_inverted(const Predictor *p, const uint8_t *px, int w, int h, double *border) {
    *border = data_border_mean(px, h, w);
    return (!strcmp(p->background, "dark") && *border > DATA_LIGHT_ABOVE) ||
           (!strcmp(p->background, "light") && *border < DATA_DARK_BELOW);
}

/* Predicts one image and prints its line. Returns 0, or -1 after reporting why it could not. */
static int predict_one(Predictor *p, const char *path) {
    int w, h;
    uint8_t *px;
    char err[ERR_LEN];
    if (image_read_gray(path, &w, &h, &px, err) != 0) { warn("%s", err); return -1; }
    int dim = net_input_dim(&p->net);
    if (p->want_w ? (w != p->want_w || h != p->want_h) : (long)w * h != dim) {
        if (p->want_w) warn("%s: image is %dx%d, the model takes %dx%d images (resize it first)", path, w, h, p->want_w, p->want_h);
        else warn("%s: image is %dx%d = %ld pixels, the model takes %d", path, w, h, (long)w * h, dim);
        free(px);
        return -1;
    }
    double border;
    int invert = p->invert;
    if (invert < 0) {
        invert = obviously_inverted(p, px, w, h, &border);
        if (invert && !p->quiet)
            warn("%s: inverted: its background is %s (border mean %.0f of 255), the training images' "
                 "was %s (--invert off keeps it as it is)", path, border > 127 ? "light" : "dark", border,
                 p->background);
    }
    if (invert)
        for (long i = 0; i < dim; i++) px[i] = (uint8_t)(255 - px[i]);
    uint8_t label = 0;
    Dataset one = {.n = 1, .rows = h, .cols = w, .dim = dim, .images = px, .labels = &label};
    int idx = 0, y;
    dataset_gather(&one, &idx, 1, net_input(&p->net), &y);
    p->net.labels = NULL;
    net_forward(&p->net, 1);
    free(px);

    const float *z = net_logits(&p->net);
    int k = net_output_dim(&p->net);
    double max = z[0], sum = 0;
    for (int c = 1; c < k; c++) if (z[c] > max) max = z[c];
    for (int c = 0; c < k; c++) sum += p->prob[c] = exp((double)z[c] - max);
    for (int c = 0; c < k; c++) { p->prob[c] /= sum; p->order[c] = c; }
    /* insertion sort by probability, the lower class first on a tie */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && p->prob[p->order[j]] > p->prob[p->order[j - 1]]; j--) {
            int t = p->order[j]; p->order[j] = p->order[j - 1]; p->order[j - 1] = t;
        }
    printf("%s:", path);
    for (int i = 0; i < p->top && i < k; i++) {
        int c = p->order[i];
        if (c < p->n_names) printf("%s %s (%.2f%%)", i ? "," : "", p->names[c], 100 * p->prob[c]);
        else printf("%s %d (%.2f%%)", i ? "," : "", c, 100 * p->prob[c]);
    }
    printf("\n");
    return 0;
}

/* "-": image paths from stdin, one per line (empty lines skipped). */
static int predict_stdin(Predictor *p) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int failed = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len > 0) failed |= predict_one(p, line) != 0;
    }
    free(line);
    return failed;
}

int cmd_predict(int argc, char **argv) {
    Config flags;
    config_defaults(&flags);
    /* flags and images in any order: parse up to each image, take it, go on */
    char **images = xmalloc(sizeof(char *) * (size_t)(argc > 0 ? argc : 1));
    int n_images = 0;
    for (int i = 1; i < argc;) {
        char **pos;
        int n_pos;
        config_parse_args(&flags, argc, argv, i, &pos, &n_pos);
        if (n_pos == 0) break;
        images[n_images++] = pos[0];
        i = (int)(pos - argv) + 1;
    }
    config_check_reads(&flags, "train predict", "--ckpt --top --invert --threads --quiet --model --act "
                       "--norm --dropout --loss --label-smoothing", NULL);
    if (!flags.ckpt[0]) fatal(EXIT_USAGE, "predict: --ckpt FILE is required (a checkpoint or a run directory)");
    if (!n_images)
        fatal(EXIT_USAGE, "predict: no images (usage: train predict --ckpt FILE|RUN_DIR IMAGE..., "
              "or - to read the paths from stdin)");
    Weights w;
    weights_open(&w, &flags, "predict");
    kernels_set_threads((int)flags.threads);
    kernels_set_denormals(!strcmp(w.c.denormals, "flush"));
    Predictor p = {.background = w.c.background, .top = (int)flags.top, .quiet = flags.quiet,
                   .invert = config_given(&flags, "invert") ? flags.invert : -1};
    weights_build_net(&w, &p.net, 1);
    p.net.bf16 = trainer_precision_bf16(&w.c);   /* the arithmetic it was trained in */
    if (sscanf(w.c.image_size, "%dx%d", &p.want_w, &p.want_h) != 2 || (long)p.want_w * p.want_h != net_input_dim(&p.net))
        p.want_w = p.want_h = 0;
    p.n_names = classes_split(w.c.classes, &p.names);
    p.prob = xmalloc(sizeof(double) * (size_t)net_output_dim(&p.net));
    p.order = xmalloc(sizeof(int) * (size_t)net_output_dim(&p.net));
    int failed = 0;
    for (int i = 0; i < n_images; i++)
        failed |= !strcmp(images[i], "-") ? predict_stdin(&p) : predict_one(&p, images[i]) != 0;
    if (fflush(stdout) != 0) fatal(EXIT_FAIL, "stdout: write error");
    classes_free(p.names, p.n_names);
    free(p.prob);
    free(p.order);
    free(images);
    net_free(&p.net);
    weights_close(&w);
    return failed ? EXIT_FAIL : 0;
}

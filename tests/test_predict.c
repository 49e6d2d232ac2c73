/* test_predict.c: a user's own images and models, end to end through ./train:
 * export-images writes MNIST as PNGs that hold its exact pixels and labels, and training on
 * them gives the same loss at step 1 as the IDX files; predict on all 10000 exported test
 * images gives, image by image, the class and probability of the network evaluated here on
 * the IDX files, and eval's accuracy; an image folder trains without --model or --val
 * (sizes, classes and split from the data) and predict names its classes; inverted images;
 * predict's errors; eval of a run directory (the weights of its report) and of a safetensors
 * file without train's metadata; --data naming a file; lr-find's samples/s; and the
 * --overfit verdict of a run that diverged. */
#include "test.h"
#include "data/dataset.h"
#include "data/imagefolder.h"
#include "data/imagewrite.h"
#include "run/weights.h"
#include "util/util.h"

#define RUNS "tests/tmp/predict"
#include "e2e.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MODEL RUNS "/m"   /* trained once in main(): 784-64-10 on MNIST */

/* The value after "key " in a file (train eval's output), or NAN. */
static double file_value(const char *path, const char *key) {
    char err[ERR_LEN], pat[64];
    char *text = read_file(path, NULL, err);
    snprintf(pat, sizeof pat, "%s ", key);
    const char *p = text ? strstr(text, pat) : NULL;
    double v = p ? atof(p + strlen(pat)) : NAN;
    free(text);
    return v;
}

/* Softmax of the network of `ckpt`, evaluated here on the IDX test set: the top class and
 * its probability of every image. */
static void reference_predictions(const char *ckpt, const Dataset *ds, int *top, double *prob) {
    Config flags;
    config_defaults(&flags);
    snprintf(flags.ckpt, sizeof flags.ckpt, "%s", ckpt);
    Weights w;
    weights_open(&w, &flags, "test");
    Net n;
    weights_build_net(&w, &n, 500);
    int idx[500], labels[500];
    for (int start = 0; start < ds->n; start += 500) {
        int rows = ds->n - start < 500 ? ds->n - start : 500;
        for (int i = 0; i < rows; i++) idx[i] = start + i;
        dataset_gather(ds, idx, rows, net_input(&n), labels);
        n.labels = NULL;
        net_forward(&n, rows);
        int k = net_output_dim(&n);
        for (int i = 0; i < rows; i++) {
            const float *z = net_logits(&n) + (long)i * k;
            int best = 0;
            double sum = 0;
            for (int c = 1; c < k; c++) if (z[c] > z[best]) best = c;
            for (int c = 0; c < k; c++) sum += exp((double)z[c] - z[best]);
            top[start + i] = best;
            prob[start + i] = 1 / sum;
        }
    }
    net_free(&n);
    weights_close(&w);
}

/* Every one of the 10000 exported test images: in the directory of its label, with its
 * pixels; predict's class and probability are the network's on the IDX image; the share it
 * gets right is eval's test accuracy. */
static void test_predict_agrees_with_eval(void) {
    Dataset ds;
    char err[ERR_LEN];
    CHECK(dataset_open("mnist", 0, &ds, err) == 0);
    int *top = malloc(sizeof(int) * (size_t)ds.n), seen = 0, agree = 0, right = 0, pixels_ok = 0;
    double *prob = malloc(sizeof(double) * (size_t)ds.n), worst = 0;
    reference_predictions(MODEL, &ds, top, prob);
    CHECK(sh("find " RUNS "/png/test -name '*.png' | sort | " TRAIN " predict --ckpt " MODEL " --top 1 - > "
             RUNS "/pred.out") == 0);
    CHECK(sh(TRAIN " eval --ckpt " MODEL " > " RUNS "/eval.out") == 0);
    FILE *f = fopen(RUNS "/pred.out", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        int label, index, predicted;
        double percent;
        if (sscanf(line, RUNS "/png/test/%d/%d.png: %d (%lf%%)", &label, &index, &predicted, &percent) != 4 ||
            index < 0 || index >= ds.n) {
            fprintf(stderr, "  bad line: %s", line);
            CHECK(0);
            break;
        }
        seen++;
        agree += predicted == top[index];
        right += predicted == label;
        double d = fabs(percent / 100 - prob[index]);
        if (d > worst) worst = d;
        CHECK(label == ds.labels[index]);
        if (index % 97 == 0) {   /* the pixels of a sample of them */
            char path[128];
            int w, h;
            uint8_t *px = NULL;
            snprintf(path, sizeof path, RUNS "/png/test/%d/%04d.png", label, index);
            pixels_ok += image_read_gray(path, &w, &h, &px, err) == 0 && w == 28 && h == 28 &&
                         memcmp(px, ds.images + (size_t)index * ds.dim, 784) == 0;
            free(px);
        }
    }
    if (f) fclose(f);
    CHECK(seen == 10000);
    CHECK(agree == seen);
    CHECK(worst <= 0.00005 + 1e-9);   /* printed as a percentage with two decimals */
    CHECK(pixels_ok == (10000 + 96) / 97);
    CHECK_NEAR((double)right / seen, file_value(RUNS "/eval.out", "test_acc"), 1e-9);
    fprintf(stderr, "  predict on 10000 PNGs: %d agree with the network on the IDX images, accuracy %.4f\n",
            agree, (double)right / seen);
    free(top);
    free(prob);
    dataset_free(&ds);
}

/* The loss, acc and grad_norm cells of log.csv's first row, as text. */
static void first_row(const char *run, char *out, size_t len) {
    char path[256], err[ERR_LEN], *cells[16];
    snprintf(path, sizeof path, RUNS "/%s/log.csv", run);
    char *text = read_file(path, NULL, err), *row = text ? strchr(text, '\n') : NULL;
    int n = 0;
    for (char *c = row ? strtok(row + 1, ",\n") : NULL; c && n < 16; c = strtok(NULL, ",\n")) cells[n++] = c;
    if (n > 5) snprintf(out, len, "%s,%s,%s", cells[3], cells[4], cells[5]);
    else out[0] = 0;
    free(text);
}

/* export-images round trip: the first 2000 images of each split, as PNGs, hold the IDX
 * pixels and labels; a full-batch first step on them gives the loss, accuracy and gradient
 * norm of the same step on the IDX files' first 2000 (the same examples in another order). */
static void test_export_round_trip(void) {
    CHECK(sh(TRAIN " export-images --out " RUNS "/rt --count 2000 --quiet") == 0);
    Dataset idx[2], folder[2];
    char err[ERR_LEN];
    for (int s = 0; s < 2; s++) {
        CHECK(dataset_open("mnist", s == 0, &idx[s], err) == 0);
        CHECK(dataset_open(RUNS "/rt", s == 0, &folder[s], err) == 0);
        CHECK(folder[s].n == 2000 && folder[s].n_classes == 10);
        CHECK(folder[s].class_names && !strcmp(folder[s].class_names[3], "3"));
        int same = 0;
        for (int i = 0; i < 2000; i++) {
            char path[128];
            int w, h;
            uint8_t *px = NULL;
            snprintf(path, sizeof path, RUNS "/rt/%s/%d/%04d.png", s ? "test" : "train", idx[s].labels[i], i);
            same += image_read_gray(path, &w, &h, &px, err) == 0 &&
                    memcmp(px, idx[s].images + (size_t)i * 784, 784) == 0;
            free(px);
        }
        CHECK(same == 2000);
        dataset_free(&idx[s]);
        dataset_free(&folder[s]);
    }
    CHECK(train("rt-folder", "--data " RUNS "/rt --val 0 --batch full --steps 1 --threads 1") == 0);
    CHECK(train("rt-idx", "--subset 2000 --val 0 --batch full --steps 1 --threads 1") == 0);
    char a[64], b[64];
    first_row("rt-folder", a, sizeof a);
    first_row("rt-idx", b, sizeof b);
    CHECK(a[0] && !strcmp(a, b));
    fprintf(stderr, "  step 1 (loss,acc,grad_norm): folder %s, IDX %s\n", a, b);
}

/* An 8x8 image of class c: a bright 3x3 block in the class's place, a little noise. */
static void class_image(uint8_t *px, int c, int k) {
    for (int i = 0; i < 64; i++) px[i] = (uint8_t)((i * 37 + k * 11) % 23);
    for (int r = 0; r < 3; r++)
        for (int q = 0; q < 3; q++) px[(1 + r + 2 * (c == 2)) * 8 + 1 + q + 3 * c] = (uint8_t)(200 + k % 50);
}

static void write_folder(const char *root) {
    static const char *const names[3] = {"cat", "dog", "emu"};
    char path[256], err[ERR_LEN];
    uint8_t px[64];
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 3; c++) {
            snprintf(path, sizeof path, "%s/%s/%s", root, s ? "test" : "train", names[c]);
            sh("mkdir -p %s", path);
            for (int k = 0; k < (s ? 5 : 40); k++) {
                class_image(px, c, k + 100 * s);
                snprintf(path, sizeof path, "%s/%s/%s/%02d.png", root, s ? "test" : "train", names[c], k);
                if (png_write_gray(path, 8, 8, px, err) != 0) fprintf(stderr, "  %s\n", err);
            }
        }
}

/* No --model, no --val: 64 inputs and 3 outputs from the folder, a tenth of its 120 training
 * images held out; the class names in config.json, the checkpoint and predict's answer. */
static void test_image_folder_without_guessing(void) {
    write_folder(RUNS "/shapes-data");
    CHECK(train("shapes", "--data " RUNS "/shapes-data --steps 60 --threads 1") == 0);
    char err[ERR_LEN];
    char *cfg = read_file(RUNS "/shapes/config.json", NULL, err);
    CHECK_CONTAINS(cfg, "\"model\": \"64-256-256-3\"");
    CHECK_CONTAINS(cfg, "\"val\": 12,");
    CHECK_CONTAINS(cfg, "\"classes\": \"cat,dog,emu\"");
    CHECK_CONTAINS(cfg, "\"image_size\": \"8x8\"");
    CHECK_CONTAINS(cfg, "\"background\": \"dark\"");
    free(cfg);
    CHECK(summary_value("shapes", "test_acc") == 1.0);
    CHECK(sh(TRAIN " predict --ckpt " RUNS "/shapes/best.safetensors " RUNS "/shapes-data/test/emu/03.png "
             RUNS "/shapes-data/test/cat/00.png > " RUNS "/shapes.pred") == 0);
    char *out = read_file(RUNS "/shapes.pred", NULL, err);
    CHECK_CONTAINS(out, "/shapes-data/test/emu/03.png: emu (");
    CHECK_CONTAINS(out, "/shapes-data/test/cat/00.png: cat (");
    free(out);
    /* a --model that says otherwise is still a clear error */
    CHECK(sh_status(TRAIN " --quiet --runs-dir " RUNS " --force --run shapes2 --data " RUNS "/shapes-data "
                    "--model 784-32-3 2> " RUNS "/shapes2.err") == 2);
    char *e = read_file(RUNS "/shapes2.err", NULL, err);
    CHECK_CONTAINS(e, "train: --model: input size 784 does not match the data (8x8 = 64 pixels)");
    free(e);
}

/* Dark strokes on light, given to a model trained on MNIST's light-on-dark: inverted (and said
 * so) unless --invert off; --invert on the original equals no inversion of the negative. */
static void test_invert(void) {
    Dataset ds;
    char err[ERR_LEN];
    CHECK(dataset_open("mnist", 0, &ds, err) == 0);
    uint8_t neg[784];
    for (int i = 0; i < 784; i++) neg[i] = (uint8_t)(255 - ds.images[i]);
    CHECK(png_write_gray(RUNS "/digit.png", 28, 28, ds.images, err) == 0);
    CHECK(png_write_gray(RUNS "/negative.png", 28, 28, neg, err) == 0);
    dataset_free(&ds);
    const char *cases[4] = {"digit.png", "negative.png", "negative.png --invert off", "digit.png --invert"};
    char *out[4], *errs[4];
    for (int i = 0; i < 4; i++) {
        CHECK(sh(TRAIN " predict --ckpt " MODEL " " RUNS "/%s > " RUNS "/inv%d.out 2> " RUNS "/inv%d.err",
                 cases[i], i, i) == 0);
        char path[64];
        snprintf(path, sizeof path, RUNS "/inv%d.out", i);
        out[i] = read_file(path, NULL, err);
        snprintf(path, sizeof path, RUNS "/inv%d.err", i);
        errs[i] = read_file(path, NULL, err);
    }
    if (out[0] && out[1] && out[2] && out[3]) {
        CHECK_STR(strchr(out[0], ':'), strchr(out[1], ':'));     /* the same answer */
        CHECK(strcmp(strchr(out[1], ':'), strchr(out[2], ':')) != 0);
        CHECK_STR(strchr(out[3], ':'), strchr(out[2], ':'));
    }
    CHECK_STR(errs[0], "");
    CHECK_CONTAINS(errs[1], "/negative.png: inverted: its background is light (border mean 255 of 255), "
                            "the training images' was dark");
    CHECK_STR(errs[2], "");
    CHECK_STR(errs[3], "");
    for (int i = 0; i < 4; i++) { free(out[i]); free(errs[i]); }
}

/* A file that is not an image, one of the wrong size and a missing one: each named on stderr,
 * the good images still predicted, exit 1. */
static void test_predict_errors(void) {
    char err[ERR_LEN];
    uint8_t px[100] = {0};
    CHECK(png_write_gray(RUNS "/small.png", 10, 10, px, err) == 0);
    CHECK(sh_status(TRAIN " predict --ckpt " MODEL " " RUNS "/digit.png README.md " RUNS "/small.png "
                    RUNS "/nope.png " RUNS "/digit.png > " RUNS "/mixed.out 2> " RUNS "/mixed.err") == 1);
    char *out = read_file(RUNS "/mixed.out", NULL, err), *e = read_file(RUNS "/mixed.err", NULL, err);
    int lines = 0;
    for (const char *p = out; p && (p = strchr(p, '\n')); p++) lines++;
    CHECK(lines == 2);
    CHECK_CONTAINS(e, "train: README.md: not a readable image");
    CHECK_CONTAINS(e, "train: " RUNS "/small.png: image is 10x10, the model takes 28x28 images");
    CHECK_CONTAINS(e, "train: " RUNS "/nope.png: No such file or directory");
    free(out);
    free(e);
    CHECK(sh_status(TRAIN " predict " RUNS "/digit.png 2>/dev/null") == 2);
    CHECK(sh_status(TRAIN " predict --ckpt " MODEL " 2>/dev/null") == 2);
}

/* Writes the model tensors of a checkpoint as PyTorch's save_file does: no metadata at all. */
static void write_foreign(const char *from, const char *to) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(from, &f, err) != 0) { fprintf(stderr, "  %s\n", err); CHECK(0); return; }
    StrBuf h;
    sb_init(&h);
    sb_append(&h, "{");
    long offset = 0;
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        long n = 1;
        for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
        sb_printf(&h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", t->name);
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%ld", d ? "," : "", (long)t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%ld,%ld]}", offset, offset + 4 * n);
        offset += 4 * n;
    }
    sb_append(&h, "}");
    FILE *out = fopen(to, "wb");
    uint64_t len = h.len;
    fwrite(&len, 8, 1, out);
    fwrite(h.s, 1, h.len, out);
    for (int i = 0; i < f.n_tensors; i++) {
        long n = 1;
        for (int d = 0; d < f.tensors[i].ndim; d++) n *= f.tensors[i].shape[d];
        fwrite(f.tensors[i].data, 4, (size_t)n, out);
    }
    fclose(out);
    sb_free(&h);
    st_free(&f);
}

/* A run directory means the weights its report evaluated: last.safetensors, or
 * best.safetensors after an early stop. A file without train's metadata evaluates with
 * --model, and says it needs it otherwise. */
static void test_eval_run_dir_and_foreign_file(void) {
    CHECK(sh(TRAIN " eval --ckpt " MODEL " > " RUNS "/evaldir.out") == 0);
    char err[ERR_LEN];
    char *out = read_file(RUNS "/evaldir.out", NULL, err);
    CHECK_CONTAINS(out, "checkpoint " MODEL "/last.safetensors");
    free(out);
    CHECK_NEAR(file_value(RUNS "/evaldir.out", "test_acc"), summary_value("m", "test_acc"), 1e-4);

    CHECK(train("early", "--subset 1000 --val 500 --model 784-64-10 --opt sgd --lr 0.3 --momentum 0.9 "
                         "--schedule constant --steps 3000 --eval-every 10 --early-stop 2 --threads 1") == 0);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/early > " RUNS "/early.eval") == 0);
    out = read_file(RUNS "/early.eval", NULL, err);
    CHECK_CONTAINS(out, "checkpoint " RUNS "/early/best.safetensors");
    free(out);
    CHECK_NEAR(file_value(RUNS "/early.eval", "test_acc"), summary_value("early", "test_acc"), 1e-4);

    write_foreign(MODEL "/best.safetensors", RUNS "/torch.safetensors");
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/torch.safetensors --model 784-64-10 > " RUNS "/torch.eval") == 0);
    CHECK_NEAR(file_value(RUNS "/torch.eval", "test_acc"), summary_value("m", "test_acc"), 1e-4);
    CHECK(sh_status(TRAIN " eval --ckpt " RUNS "/torch.safetensors 2> " RUNS "/torch.err") == 2);
    char *e = read_file(RUNS "/torch.err", NULL, err);
    CHECK_CONTAINS(e, "torch.safetensors: has no description of its model (not written by train");
    free(e);
    CHECK(sh_status(TRAIN " eval --ckpt " MODEL " --model 784-64-10 2> /dev/null") == 2);
    /* the wrong --model: the tensors say so */
    CHECK(sh_status(TRAIN " eval --ckpt " RUNS "/torch.safetensors --model 784-32-10 2> " RUNS "/torch.err") == 1);
    e = read_file(RUNS "/torch.err", NULL, err);
    CHECK_CONTAINS(e, "tensor '0.weight' has shape [64, 784], the model needs [32, 784]");
    free(e);
}

static void test_data_is_a_file(void) {
    CHECK(sh_status(TRAIN " --quiet --data README.md --runs-dir " RUNS " --run f 2> " RUNS "/file.err") == 1);
    char err[ERR_LEN];
    char *e = read_file(RUNS "/file.err", NULL, err);
    CHECK_CONTAINS(e, "train: README.md: is a file, not a dataset directory");
    free(e);
}

/* lr-find's progress lines show the rate of its steps (it printed 0 samples/s). */
static void test_lr_find_rate(void) {
    CHECK(sh(TRAIN " lr-find --runs-dir " RUNS " --force --run lf --subset 2000 --val 100 --num-it 20 "
             "--model 784-32-10 --threads 1 > /dev/null 2> " RUNS "/lf.err") == 0);
    char err[ERR_LEN];
    char *e = read_file(RUNS "/lf.err", NULL, err);
    int lines = 0, positive = 0;
    for (const char *p = e; p && (p = strstr(p, " samples/s")); p++) {
        const char *q = p;
        while (q > e && q[-1] != ' ') q--;
        lines++;
        positive += atof(q) > 0;
    }
    CHECK(lines >= 2 && positive == lines);
    free(e);
}

/* --overfit with SGD at lr 10: the weights explode and every ReLU dies while the loss barely
 * moves; the verdict says it diverged (the lr is too high), never "too low". */
static void test_overfit_divergence(void) {
    CHECK(sh_status(TRAIN " --quiet --runs-dir " RUNS " --force --run ov --overfit 64 --lr 10 --opt sgd "
                    "--model 784-64-10 --steps 100 --threads 1 > " RUNS "/ov.out 2>/dev/null") == 1);
    char err[ERR_LEN];
    char *out = read_file(RUNS "/ov.out", NULL, err);
    CHECK_CONTAINS(out, "could not overfit: training diverged; loss ");
    CHECK_CONTAINS(out, "  diverged: the lr (10) is too high; try --lr 1, or --clip 1\n");
    CHECK_CONTAINS(out, "    the weights of layer 0 exploded: norm ");
    CHECK_CONTAINS(out, "    every ReLU after layer 0 is dead");
    CHECK(out && !strstr(out, "too low"));
    free(out);
}

int main(void) {
    sh("rm -rf " RUNS " && mkdir -p " RUNS);
    if (train("m", "--steps 300 --model 784-64-10 --threads 1") != 0 ||
        sh(TRAIN " export-images --out " RUNS "/png --split test --quiet") != 0) {
        fprintf(stderr, "FAIL setup\n");
        return 1;
    }
    RUN(test_predict_agrees_with_eval);
    RUN(test_export_round_trip);
    RUN(test_image_folder_without_guessing);
    RUN(test_invert);
    RUN(test_predict_errors);
    RUN(test_eval_run_dir_and_foreign_file);
    RUN(test_data_is_a_file);
    RUN(test_lr_find_rate);
    RUN(test_overfit_divergence);
    return test_summary();
}

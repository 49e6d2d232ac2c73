/* test_usability.c: the pieces behind a new user's first steps, checked against hand-derived
 * values: edit distances and the "did you mean" choice, class-name lists (escapes included),
 * the protobuf bytes of ONNX initializers, nodes and value infos, charts whose legend sits
 * outside the plot area, the defaults a dataset decides (--val, --model) and the border that
 * tells a dark background from a light one. */
#include "data/classes.h"
#include "formats/onnx.h"
#include "formats/plot.h"
#include "run/datainfo.h"
#include "util/suggest.h"
#include "util/util.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TMP "tests/tmp/usability"

/* kitten -> sitting: k->s, e->i, +g = 3; a swap of neighbours costs 1, not 2 */
static void test_edit_distance(void) {
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("lr", "lr") == 0);
    CHECK(edit_distance("ab", "ba") == 1);
    CHECK(edit_distance("warmpu", "warmup") == 1);
    CHECK(edit_distance("ca", "abc") == 3);   /* optimal string alignment: no edit of a swapped pair */
}

static void test_closest_name(void) {
    static const char *const names[] = {"lr", "min-lr", "warmup", "momentum", "wd", "clip", "clip-value"};
    int n = (int)(sizeof names / sizeof *names);
    CHECK_STR(closest_name("lr", names, n, sizeof *names), "lr");
    CHECK_STR(closest_name("lrr", names, n, sizeof *names), "lr");
    CHECK_STR(closest_name("warmpu", names, n, sizeof *names), "warmup");
    CHECK_STR(closest_name("momentun", names, n, sizeof *names), "momentum");
    CHECK_STR(closest_name("clip-valu", names, n, sizeof *names), "clip-value");
    /* "bogus" is 3+ edits from everything: no guess */
    CHECK(closest_name("bogus", names, n, sizeof *names) == NULL);
    /* a tie goes to the earlier row: "w" is 1 from "wd" and 2 from "lr" */
    CHECK_STR(closest_name("w", names, n, sizeof *names), "wd");
}

static void test_class_names(void) {
    char *names[] = {"a,b", "c\\d", "T-shirt/top", "Ankle boot"};
    char joined[64];
    CHECK(classes_join(names, 4, joined, sizeof joined) == 0);
    CHECK_STR(joined, "a\\,b,c\\\\d,T-shirt/top,Ankle boot");
    char **back;
    int n = classes_split(joined, &back);
    CHECK(n == 4);
    for (int i = 0; i < n && i < 4; i++) CHECK_STR(back[i], names[i]);
    classes_free(back, n);
    CHECK(classes_split("", &back) == 0);
    classes_free(back, 0);
    /* too long: -1 and an empty string, never a cut-off list */
    char small[8];
    CHECK(classes_join(names, 4, small, sizeof small) == -1);
    CHECK_STR(small, "");
    /* exactly fitting: "0,1" and its NUL in 4 bytes */
    char *digits[] = {"0", "1"}, fit[4];
    CHECK(classes_join(digits, 2, fit, sizeof fit) == 0);
    CHECK_STR(fit, "0,1");
    int k;
    const char *const *fashion = classes_builtin("fashion", &k);
    CHECK(k == 10 && fashion && !strcmp(fashion[0], "T-shirt/top") && !strcmp(fashion[9], "Ankle boot"));
    CHECK(classes_builtin("data/mnist", &k) == NULL && k == 0);
}

static int bytes_equal(const StrBuf *b, const unsigned char *want, size_t n) {
    if (b->len != n) { fprintf(stderr, "  %zu bytes, want %zu\n", b->len, n); return 0; }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b->s[i] != want[i]) {
            fprintf(stderr, "  byte %zu: %02x, want %02x\n", i, (unsigned char)b->s[i], want[i]);
            return 0;
        }
    return 1;
}

/* The wire bytes, derived by hand from onnx.proto's field numbers (key = field << 3 | wire
 * type; wire 0 varint, 2 length-delimited, 5 fixed32). */
static void test_onnx_bytes(void) {
    OnnxModel m;
    onnx_init(&m);
    int64_t dims[2] = {1, 300};   /* 300 = 0b10_0101100 -> varint ac 02 */
    float *w = calloc(300, sizeof(float));
    w[0] = 1.0f;                  /* 0x3f800000, little-endian 00 00 80 3f */
    onnx_initializer(&m, "w", 2, dims, w);
    free(w);
    /* GraphProto.initializer (5, wire 2): 2a, length 1213 = 9 * 128 + 0x3d -> bd 09; TensorProto:
     * dims (1): 08 01, 08 ac 02; data_type (2) FLOAT: 10 01; name (8): 42 01 'w';
     * raw_data (9): 4a, length 1200 -> b0 09, then the floats */
    CHECK(m.initializers.len == 3 + 2 + 3 + 2 + 3 + 3 + 1200);
    const unsigned char head[] = {0x2a, 0xbd, 0x09, 0x08, 0x01, 0x08, 0xac, 0x02, 0x10, 0x01, 0x42,
                                  0x01, 'w', 0x4a, 0xb0, 0x09, 0x00, 0x00, 0x80, 0x3f};
    StrBuf prefix = {m.initializers.s, sizeof head, 0};
    CHECK(bytes_equal(&prefix, head, sizeof head));

    /* NodeProto (1): input (1) "x", output (2) "y", name (3) "n", op_type (4) "Relu",
     * attribute (5): name (1) "a", f (2, fixed32) 0.5 = 0x3f000000, type (20) FLOAT:
     * key 20 << 3 = 0xa0 -> varint a0 01, value 01 */
    OnnxAttr a = {"a", ONNX_FLOAT, 0.5, 0};
    const char *in[] = {"x"};
    onnx_node(&m, "Relu", "n", in, 1, "y", &a, 1);
    const unsigned char node[] = {0x0a, 0x1c, 0x0a, 0x01, 'x', 0x12, 0x01, 'y', 0x1a, 0x01, 'n', 0x22,
                                  0x04, 'R', 'e', 'l', 'u', 0x2a, 0x0b, 0x0a, 0x01, 'a', 0x15, 0x00,
                                  0x00, 0x00, 0x3f, 0xa0, 0x01, 0x01};
    CHECK(bytes_equal(&m.nodes, node, sizeof node));

    /* an int attribute -1: varint of the 64-bit two's complement, ten bytes ff .. ff 01 */
    OnnxModel m2;
    onnx_init(&m2);
    OnnxAttr axis = {"k", ONNX_INT, 0, -1};
    onnx_node(&m2, "Softmax", "s", in, 1, "y", &axis, 1);
    const unsigned char neg[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xa0, 0x01, 0x02};
    CHECK(m2.nodes.len > sizeof neg &&
          memcmp(m2.nodes.s + m2.nodes.len - sizeof neg, neg, sizeof neg) == 0);

    /* ValueInfoProto of a float [N, 784] as GraphProto.input (11): 5a, name (1) "x",
     * type (2) { tensor_type (1) { elem_type (1) 1, shape (2) { dim (1) { dim_param (2) "N" },
     * dim (1) { dim_value (1) 784 = 90 06 } } } } */
    onnx_input(&m2, "x", 784);
    const unsigned char vi[] = {0x5a, 0x15, 0x0a, 0x01, 'x', 0x12, 0x10, 0x0a, 0x0e, 0x08, 0x01, 0x12,
                                0x0a, 0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x03, 0x08, 0x90, 0x06};
    CHECK(bytes_equal(&m2.inputs, vi, sizeof vi));
    onnx_free(&m);
    onnx_free(&m2);
}

/* A number attribute of the first element <tag ... class="cls" ...>. */
static double svg_attr(const char *svg, const char *tag_class, const char *attr) {
    const char *p = strstr(svg, tag_class);
    if (!p) return NAN;
    while (p > svg && *p != '<') p--;
    char key[32];
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *v = strstr(p, key), *end = strchr(p, '>');
    return v && v < end ? atof(v + strlen(key)) : NAN;
}

/* The legend lies outside the frame (right of it, and right of the right axis when there is
 * one), so no line and no marker label is under it; the chart widens to hold it. */
static void test_legend_outside(void) {
    mkdir("tests/tmp", 0777);
    mkdir(TMP, 0777);
    double x[3] = {1e-4, 1e-2, 1}, y[3] = {2.3, 0.5, 9};
    char err[ERR_LEN];
    for (int right = 0; right < 2; right++) {
        Plot p;
        plot_init(&p, "t", "lr", "loss");
        p.log_x = 1;
        plot_add(&p, "a rather long series name for the legend", x, y, 3, 0);
        plot_add(&p, "lr", x, y, 3, right);
        plot_mark(&p, 1e-2, "steepest 0.01");
        CHECK(plot_write_svg(&p, TMP "/legend.svg", err) == 0);
        char *svg = read_file(TMP "/legend.svg", NULL, err);
        double fx = svg_attr(svg, "class=\"frame\"", "x"), fw = svg_attr(svg, "class=\"frame\"", "width");
        double lx = svg_attr(svg, "class=\"legend\"", "x"), lw = svg_attr(svg, "class=\"legend\"", "width");
        double width = svg_attr(svg, "<svg", "width");
        CHECK(lx > fx + fw);                  /* right of the plot area */
        if (right) CHECK(lx >= 760);          /* and of the right axis' labels */
        CHECK(lx + lw <= width);              /* inside the picture */
        CHECK(lw >= 7 * 41);                  /* room for the long name */
        free(svg);
    }
}

static Dataset fake(int n, int rows, int cols, int classes, uint8_t border) {
    Dataset d = {.n = n, .rows = rows, .cols = cols, .dim = rows * cols, .n_classes = classes};
    d.images = malloc((size_t)n * d.dim);
    d.labels = calloc((size_t)n, 1);
    memset(d.images, border, (size_t)n * d.dim);
    for (int i = 0; i < n; i++)   /* a bright interior that must not count */
        for (int r = 1; r < rows - 1; r++)
            for (int c = 1; c < cols - 1; c++) d.images[(size_t)i * d.dim + r * cols + c] = 255 - border;
    return d;
}

/* --val and --model left unset are decided by the data; set ones are kept. */
static void test_data_defaults(void) {
    Config c;
    config_defaults(&c);
    Dataset small = fake(230, 8, 6, 3, 250), big = fake(60000, 2, 2, 10, 0);
    data_defaults(&c, &small, NULL);
    CHECK(c.val == 23);                          /* a tenth of 230 */
    CHECK_STR(c.model, "48-256-256-3");          /* 8x6 pixels, 3 classes */
    CHECK_STR(c.image_size, "6x8");              /* width x height */
    CHECK_STR(c.background, "light");            /* border 250 */
    CHECK_STR(c.classes, "");                    /* no names */
    config_defaults(&c);
    data_defaults(&c, &big, NULL);
    CHECK(c.val == 5000);
    CHECK_STR(c.background, "dark");
    /* given on the command line: kept */
    config_defaults(&c);
    char *argv[] = {"train", "--val", "7", "--model", "48-32-5"};
    config_parse_args(&c, 5, argv, 1, NULL, NULL);
    data_defaults(&c, &small, NULL);
    CHECK(c.val == 7);
    CHECK_STR(c.model, "48-32-5");
    /* the border of a 3x3 image is its 8 outer pixels */
    uint8_t px[9] = {10, 20, 30, 40, 255, 60, 70, 80, 90};
    CHECK_NEAR(data_border_mean(px, 3, 3), (10 + 20 + 30 + 40 + 60 + 70 + 80 + 90) / 8.0, 1e-12);
    free(small.images); free(small.labels); free(big.images); free(big.labels);
}

int main(void) {
    RUN(test_edit_distance);
    RUN(test_closest_name);
    RUN(test_class_names);
    RUN(test_onnx_bytes);
    RUN(test_legend_outside);
    RUN(test_data_defaults);
    return test_summary();
}

/* plot.c: SVG line charts, see plot.h. Coordinates: the plot area is a rectangle inside
 * fixed margins; every data value is mapped linearly (or by log10) onto it. */
#include "formats/plot.h"
#include "formats/json.h"
#include "util/fsio.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

#define W 760
#define H 440
#define LEFT 78
#define RIGHT 78
#define TOP 44
#define BOTTOM 56

static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

typedef struct {
    double lo, hi;   /* data range shown (log10 of it for log axes) */
    int log;
} Axis;

void plot_init(Plot *p, const char *title, const char *x_label, const char *y_label) {
    memset(p, 0, sizeof *p);
    p->title = title;
    p->x_label = x_label;
    p->y_label = y_label;
}

void plot_add(Plot *p, const char *name, const double *x, const double *y, int n, int right_axis) {
    if (p->n_series == PLOT_MAX_SERIES) return;
    PlotSeries *s = &p->series[p->n_series++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->x = x;
    s->y = y;
    s->n = n;
    s->right_axis = right_axis;
}

void plot_mark(Plot *p, double x, const char *label) {
    if (p->n_marks == PLOT_MAX_MARKS) return;
    p->mark_x[p->n_marks] = x;
    p->mark_label[p->n_marks++] = label;
}

static int usable(double v, int log) { return isfinite(v) && (!log || v > 0); }

static int has_right_axis(const Plot *p) {
    for (int i = 0; i < p->n_series; i++)
        if (p->series[i].right_axis) return 1;
    return 0;
}

/* The legend sits outside the plot area, right of it (past the right axis when there is one),
 * so it never hides a line or a marker's label; the chart widens to hold it. */
#define LEGEND_CHAR 7       /* px per character of legend text, generous for 12px sans */
static int legend_x(const Plot *p) { return has_right_axis(p) ? W + 4 : W - RIGHT + 12; }

static int legend_width(const Plot *p) {
    size_t longest = 0;
    for (int i = 0; i < p->n_series; i++) {
        size_t n = strlen(p->series[i].name) + (p->series[i].right_axis ? 13 : 0);
        if (n > longest) longest = n;
    }
    return 40 + LEGEND_CHAR * (int)longest;
}

/* The width of one chart, its legend included. */
static int chart_width(const Plot *p) {
    int w = legend_x(p) + legend_width(p) + 8;
    return w > W ? w : W;
}

/* Range of the values (x or y of the series on one side), padded so lines do not touch
 * the frame; a flat or empty range gets a unit around its value. */
static Axis make_axis(const Plot *p, int which, int right, int log) {
    Axis a = {INFINITY, -INFINITY, log};
    for (int i = 0; i < p->n_series; i++) {
        const PlotSeries *s = &p->series[i];
        if (which == 1 && s->right_axis != right) continue;
        for (int k = 0; k < s->n; k++) {
            double v = which == 0 ? s->x[k] : s->y[k];
            if (!usable(v, log) || !usable(which == 0 ? s->y[k] : s->x[k], 0)) continue;
            v = log ? log10(v) : v;
            if (v < a.lo) a.lo = v;
            if (v > a.hi) a.hi = v;
        }
    }
    if (a.lo > a.hi) { a.lo = 0; a.hi = 1; }
    if (a.hi - a.lo < 1e-12) {   /* a flat series: show it mid-height, keeping its sign */
        double v = a.lo, half = log ? 0.5 : (fabs(v) > 0 ? 0.5 * fabs(v) : 0.5);
        a.lo = v - half;
        a.hi = v + half;
    }
    if (which == 1) {
        double pad = 0.04 * (a.hi - a.lo);
        a.lo -= pad;
        a.hi += pad;
    }
    return a;
}

static double to_px(const Axis *a, double v, double from, double to) {
    double u = a->log ? log10(v) : v;
    return from + (u - a->lo) / (a->hi - a->lo) * (to - from);
}

/* Tick step 1, 2 or 5 times a power of ten giving about 6 ticks. */
static double nice_step(double span) {
    double raw = span / 6, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *buf, size_t len, double v) {
    if (fabs(v) < 1e-12) v = 0;
    snprintf(buf, len, "%.4g", v);
}

/* Draws the ticks and grid lines of one axis: side 'x' (bottom), 'l' (left), 'r' (right). */
/* One tick at data value v (already on the axis's scale u). */
static void draw_tick(StrBuf *b, const Axis *a, char side, double u) {
    double x0 = LEFT, x1 = W - RIGHT, y0 = H - BOTTOM, y1 = TOP;
    double v = a->log ? pow(10, u) : u, frac = (u - a->lo) / (a->hi - a->lo);
    char label[32];
    tick_label(label, sizeof label, v);
    if (side == 'x') {
        double x = x0 + frac * (x1 - x0);
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x, y0, x, y1);
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, y0 + 16, label);
    } else {
        double y = y0 + frac * (y1 - y0);
        if (side == 'l')
            sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x0, y, x1, y);
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n",
                  side == 'l' ? x0 - 6 : x1 + 6, y + 4, side == 'l' ? "end" : "start", label);
    }
}

/* Ticks of one axis: side 'x' (bottom), 'l' (left), 'r' (right). Linear axes step by 1, 2
 * or 5 x 10^k; log axes mark powers of ten, and 2 and 5 times them when the axis spans
 * less than three decades, and evenly spaced values when it spans less than one. */
static void draw_ticks(StrBuf *b, const Axis *a, char side) {
    double lo = a->lo, hi = a->hi, eps = 1e-9 * (hi - lo);
    if (!a->log) {
        double step = nice_step(hi - lo);
        for (double u = ceil(lo / step) * step; u <= hi + eps; u += step) draw_tick(b, a, side, u);
        return;
    }
    if (hi - lo < 1) {   /* under a decade: evenly spaced values, placed on the log scale */
        double vlo = pow(10, lo), vhi = pow(10, hi), vstep = nice_step(vhi - vlo);
        for (double v = ceil(vlo / vstep) * vstep; v <= vhi * (1 + 1e-9); v += vstep)
            if (v > 0) draw_tick(b, a, side, log10(v));
        return;
    }
    double step = hi - lo > 12 ? ceil((hi - lo) / 8) : 1;
    int minor = hi - lo < 3;
    for (double d = floor(lo); d <= hi + eps; d += step) {
        if (d >= lo - eps) draw_tick(b, a, side, d);
        for (int m = 0; minor && m < 2; m++) {
            double u = d + log10(m ? 5.0 : 2.0);
            if (u >= lo - eps && u <= hi + eps) draw_tick(b, a, side, u);
        }
    }
}

static void text_escaped(StrBuf *b, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') sb_append(b, "&lt;");
        else if (*s == '>') sb_append(b, "&gt;");
        else if (*s == '&') sb_append(b, "&amp;");
        else if (*s == '"') sb_append(b, "&quot;");
        else sb_appendn(b, s, 1);
    }
}

static void draw_series(StrBuf *b, const PlotSeries *s, const Axis *ax, const Axis *ay, const char *color) {
    sb_printf(b, "<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s d=\"", color,
              s->dashed ? " stroke-dasharray=\"6 4\"" : "");
    int pen_down = 0, points = 0;
    for (int k = 0; k < s->n; k++) {
        if (!usable(s->x[k], ax->log) || !usable(s->y[k], ay->log)) { pen_down = 0; continue; }
        double px = to_px(ax, s->x[k], LEFT, W - RIGHT), py = to_px(ay, s->y[k], H - BOTTOM, TOP);
        sb_printf(b, "%s%.2f %.2f", pen_down ? " L" : (points ? " M" : "M"), px, py);
        pen_down = 1;
        points++;
    }
    if (!points) sb_append(b, "M0 0");
    sb_append(b, "\"><title>");
    text_escaped(b, s->name);
    sb_append(b, "</title></path>\n");
}

/* The document header: the XML declaration, the <svg> root of width x height and the styles
 * every chart uses. */
static void svg_open(StrBuf *b, int width, int height) {
    sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "font-family=\"sans-serif\" font-size=\"12\">\n"
              "<style>.grid{stroke:#e4e4e4;stroke-width:1}.frame{fill:none;stroke:#333}</style>\n",
              width, height, width, height);
}

/* Replaced atomically (util/fsio.h): a chart is the old one or the new one, never cut off. */
static int write_text(const char *path, const char *text, char *err) {
    return fsio_replace(path, text, strlen(text), err);
}

/* One chart in a W x H box from (0, 0): background, axes, marks, series and legend. */
static void render(const Plot *p, StrBuf *b) {
    int has_right = has_right_axis(p);
    Axis ax = make_axis(p, 0, 0, p->log_x);
    Axis ay = make_axis(p, 1, 0, p->log_y), ay2 = make_axis(p, 1, 1, p->log_y2);
    sb_append(b, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb_printf(b, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    text_escaped(b, p->title);
    sb_append(b, "</text>\n");
    draw_ticks(b, &ax, 'x');
    draw_ticks(b, &ay, 'l');
    if (has_right) draw_ticks(b, &ay2, 'r');
    sb_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LEFT, TOP,
              W - LEFT - RIGHT, H - TOP - BOTTOM);
    sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (LEFT + W - RIGHT) / 2, H - 14);
    text_escaped(b, p->x_label);
    sb_printf(b, "%s</text>\n<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">",
              p->log_x ? " (log scale)" : "", (TOP + H - BOTTOM) / 2);
    text_escaped(b, p->y_label);
    sb_printf(b, "%s</text>\n", p->log_y ? " (log scale)" : "");
    if (has_right) {
        sb_printf(b, "<text transform=\"translate(%d %d) rotate(90)\" text-anchor=\"middle\">", W - 16,
                  (TOP + H - BOTTOM) / 2);
        text_escaped(b, p->y2_label);
        sb_printf(b, "%s</text>\n", p->log_y2 ? " (log scale)" : "");
    }
    for (int i = 0; i < p->n_marks; i++) {
        if (!usable(p->mark_x[i], ax.log)) continue;
        double x = to_px(&ax, p->mark_x[i], LEFT, W - RIGHT);
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#555\" stroke-dasharray=\"3 3\"/>\n"
                  "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">", x, TOP, x, H - BOTTOM, x + 4, TOP + 14 + 14 * i);
        text_escaped(b, p->mark_label[i]);
        sb_append(b, "</text>\n");
    }
    for (int i = 0; i < p->n_series; i++) {
        const PlotSeries *s = &p->series[i];
        draw_series(b, s, &ax, s->right_axis ? &ay2 : &ay, colors[i % 10]);
    }
    /* legend outside the frame, level with its top (or its bottom) */
    int legend_top = p->legend_bottom ? H - BOTTOM - 6 - 16 * p->n_series : TOP;
    sb_printf(b, "<rect class=\"legend\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"white\" "
              "stroke=\"#ccc\"/>\n", legend_x(p), legend_top, legend_width(p), 16 * p->n_series + 6);
    for (int i = 0; i < p->n_series; i++) {
        int y = legend_top + 16 + 16 * i, x = legend_x(p) + 8;
        sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                  "<text x=\"%d\" y=\"%d\">", x, y - 4, x + 22, y - 4, colors[i % 10],
                  p->series[i].dashed ? " stroke-dasharray=\"6 4\"" : "", x + 28, y);
        text_escaped(b, p->series[i].name);
        sb_printf(b, "%s</text>\n", p->series[i].right_axis ? " (right axis)" : "");
    }
}

int plot_write_svg(const Plot *p, const char *path, char *err) {
    StrBuf b;
    sb_init(&b);
    svg_open(&b, chart_width(p), H);
    render(p, &b);
    sb_append(&b, "</svg>\n");
    int rc = write_text(path, b.s, err);
    sb_free(&b);
    return rc;
}

int plot_write_svg_grid(const Plot *panels, int n, int cols, const char *path, char *err) {
    if (cols < 1) cols = 1;
    int rows = n > 0 ? (n + cols - 1) / cols : 1, pw = W;   /* every column as wide as the widest chart */
    for (int i = 0; i < n; i++)
        if (chart_width(&panels[i]) > pw) pw = chart_width(&panels[i]);
    StrBuf b;
    sb_init(&b);
    svg_open(&b, pw * (n < cols ? (n > 0 ? n : 1) : cols), H * rows);
    /* A nested <svg> per panel gives each chart its own viewport, so render() draws it with
     * the same coordinates as a standalone chart (its 100% background included). */
    for (int i = 0; i < n; i++) {
        sb_printf(&b, "<svg x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\">\n", pw * (i % cols), H * (i / cols), pw, H);
        render(&panels[i], &b);
        sb_append(&b, "</svg>\n");
    }
    sb_append(&b, "</svg>\n");
    int rc = write_text(path, b.s, err);
    sb_free(&b);
    return rc;
}

/* contour.c: heat maps, contour lines, paths and marks as SVG, see contour.h.
 * Layout: the plot area (PW x PH pixels) at (LEFT, TOP); to its right the colour bar (with
 * a heat map) and the legend (with paths or marks). */
#include "formats/contour.h"
#include "formats/json.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEFT 72
#define TOP 44
#define BOTTOM 58
#define PW 520
#define BAR_W 100
#define LEGEND_W 280

static const char *path_colors[] = {"#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c",
                                    "#e377c2", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22"};

/* viridis at eleven evenly spaced points; colours in between are interpolated */
static const unsigned char viridis[11][3] = {
    {68, 1, 84}, {72, 36, 117}, {65, 68, 135}, {53, 95, 141}, {42, 120, 142}, {33, 145, 140},
    {34, 168, 132}, {68, 191, 112}, {122, 209, 81}, {189, 223, 38}, {253, 231, 37}};

typedef struct {
    double lo, hi;           /* range of the transformed values */
    double shift;            /* log: u = log10(z + shift) */
    int log;
    int ph;                  /* plot height in pixels */
} Scale;

void contour_init(Contour *c, const char *title, const char *x_label, const char *y_label,
                  const char *z_label) {
    memset(c, 0, sizeof *c);
    c->title = title;
    c->x_label = x_label;
    c->y_label = y_label;
    c->z_label = z_label;
    c->n_levels = 12;
}

void contour_grid(Contour *c, const double *z, int nx, int ny, double x0, double x1, double y0,
                  double y1) {
    c->z = z;
    c->nx = nx;
    c->ny = ny;
    c->x0 = x0; c->x1 = x1; c->y0 = y0; c->y1 = y1;
}

void contour_add_path(Contour *c, const char *name, const double *x, const double *y, long n,
                      int dots) {
    if (c->n_paths == CONTOUR_MAX_PATHS) return;
    ContourPath p = {name, x, y, n, dots};
    c->paths[c->n_paths++] = p;
}

void contour_add_mark(Contour *c, double x, double y, const char *label, MarkShape shape) {
    if (c->n_marks == CONTOUR_MAX_MARKS) return;
    ContourMark m = {x, y, label, shape};
    c->marks[c->n_marks++] = m;
}

static double transform(const Scale *s, double z) {
    return s->log ? log10(z + s->shift) : z;
}

static double untransform(const Scale *s, double u) {
    return s->log ? pow(10, u) - s->shift : u;
}

static Scale make_scale(const Contour *c) {
    Scale s = {0, 1, 0, c->log_z, 0};
    double lo = INFINITY, hi = -INFINITY;
    for (long i = 0; i < (long)c->nx * c->ny; i++)
        if (isfinite(c->z[i])) { lo = fmin(lo, c->z[i]); hi = fmax(hi, c->z[i]); }
    if (!(lo <= hi)) lo = 0, hi = 1;
    /* positive values on their own log scale; others lifted to start a few decades below
     * their range */
    s.shift = lo > 0 ? 0 : -lo + (hi > lo ? (hi - lo) * 1e-4 : 1);
    s.lo = transform(&s, lo);
    s.hi = transform(&s, hi);
    if (!(s.hi > s.lo)) s.hi = s.lo + 1;
    double aspect = (c->y1 - c->y0) / (c->x1 - c->x0);
    s.ph = (int)fmin(fmax(PW * aspect, 300), 620);
    return s;
}

static void color_at(double t, char out[8]) {
    t = fmin(fmax(t, 0), 1) * 10;
    int k = (int)t < 10 ? (int)t : 9;
    double f = t - k;
    int rgb[3];
    for (int i = 0; i < 3; i++) rgb[i] = (int)lround(viridis[k][i] + f * (viridis[k + 1][i] - viridis[k][i]));
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

static double px_x(const Contour *c, double x) { return LEFT + (x - c->x0) / (c->x1 - c->x0) * PW; }
static double px_y(const Contour *c, const Scale *s, double y) {
    return TOP + s->ph - (y - c->y0) / (c->y1 - c->y0) * s->ph;
}

static void escaped(StrBuf *b, const char *text) {
    static const char *from = "<>&\"", *to[] = {"&lt;", "&gt;", "&amp;", "&quot;"};
    for (; text && *text; text++) {
        const char *hit = strchr(from, *text);
        if (hit && *text) sb_append(b, to[hit - from]);
        else sb_appendn(b, text, 1);
    }
}

static void text_at(StrBuf *b, double x, double y, const char *anchor, const char *extra, const char *text) {
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, extra);
    escaped(b, text);
    sb_append(b, "</text>\n");
}

/* About six round ticks (1, 2 or 5 times a power of ten) across [lo, hi], with grid lines. */
static void axis_ticks(StrBuf *b, const Contour *c, const Scale *s, int vertical) {
    double lo = vertical ? c->y0 : c->x0, hi = vertical ? c->y1 : c->x1, span = hi - lo;
    double unit = pow(10, floor(log10(span / 6))), step = unit;
    for (int i = 0; i < 3 && span / step > 7; i++) step = unit * (i == 0 ? 2 : i == 1 ? 5 : 10);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) {
        char label[32];
        snprintf(label, sizeof label, "%.4g", fabs(v) < 1e-12 * span ? 0.0 : v);
        if (vertical) {
            double y = px_y(c, s, v);
            sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"tick\"/>\n", LEFT - 5, y, LEFT, y);
            text_at(b, LEFT - 8, y + 4, "end", "", label);
        } else {
            double x = px_x(c, v);
            sb_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"tick\"/>\n", x, TOP + s->ph, x, TOP + s->ph + 5);
            text_at(b, x, TOP + s->ph + 18, "middle", "", label);
        }
    }
}

/* The value at fractional grid position (u, v) by bilinear interpolation. */
static double bilinear(const Contour *c, double u, double v) {
    int i = (int)u < c->nx - 1 ? (int)u : c->nx - 2, j = (int)v < c->ny - 1 ? (int)v : c->ny - 2;
    double fu = u - i, fv = v - j;
    const double *z = c->z + (long)j * c->nx + i;
    return (1 - fv) * ((1 - fu) * z[0] + fu * z[1]) + fv * ((1 - fu) * z[c->nx] + fu * z[c->nx + 1]);
}

/* Cells of the colour map: each grid cell cut into f x f pieces (about 48 per axis in all)
 * coloured by the bilinear interpolation of its corners, so coarse grids do not look blocky. */
static void heat_cells(StrBuf *b, const Contour *c, const Scale *s) {
    int f = 48 / (c->nx - 1 > c->ny - 1 ? c->nx - 1 : c->ny - 1);
    if (f < 1) f = 1;
    int mx = (c->nx - 1) * f, my = (c->ny - 1) * f;
    double cw = (double)PW / mx, ch = (double)s->ph / my;
    sb_append(b, "<g class=\"heat\">\n");
    for (int j = 0; j < my; j++)
        for (int i = 0; i < mx; i++) {
            double z = bilinear(c, (i + 0.5) / f, (j + 0.5) / f);
            char col[8];
            if (!isfinite(z)) snprintf(col, sizeof col, "#ffffff");
            else color_at((transform(s, z) - s->lo) / (s->hi - s->lo), col);
            /* a hair larger than the cell, so no seams show between neighbours */
            sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                      LEFT + i * cw, TOP + s->ph - (j + 1) * ch, cw + 0.5, ch + 0.5, col);
        }
    sb_append(b, "</g>\n");
}

/* The point where the level crosses the cell edge e (0 bottom, 1 right, 2 top, 3 left) of
 * the cell with corners q[0] (i, j), q[1] (i+1, j), q[2] (i+1, j+1), q[3] (i, j+1). */
static void edge_point(const Contour *c, const Scale *s, int i, int j, const double *q, int e,
                       double level, double *px, double *py) {
    static const int from[4] = {0, 1, 3, 0}, to[4] = {1, 2, 2, 3};
    static const double corner[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    double a = q[from[e]], z = q[to[e]], t = (level - a) / (z - a);
    double u = corner[from[e]][0] + t * (corner[to[e]][0] - corner[from[e]][0]);
    double v = corner[from[e]][1] + t * (corner[to[e]][1] - corner[from[e]][1]);
    double dx = (c->x1 - c->x0) / (c->nx - 1), dy = (c->y1 - c->y0) / (c->ny - 1);
    *px = px_x(c, c->x0 + (i + u) * dx);
    *py = px_y(c, s, c->y0 + (j + v) * dy);
}

/* The segments of one level, in tenths of a pixel (what the file prints), joined into
 * polylines before they are written: each interior end point is shared by exactly two
 * segments, found through a hash of end points. */
typedef struct {
    long (*seg)[4];          /* x1 y1 x2 y2 */
    int n, cap;
    int *table, size;        /* end point -> 2 * segment + which end, open addressing; -1 empty */
    char *used;
} Segments;

static void seg_add(Segments *g, double x1, double y1, double x2, double y2) {
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->seg = xrealloc(g->seg, sizeof *g->seg * (size_t)g->cap);
    }
    long *q = g->seg[g->n++];
    q[0] = lround(x1 * 10); q[1] = lround(y1 * 10); q[2] = lround(x2 * 10); q[3] = lround(y2 * 10);
}

static unsigned point_hash(long x, long y) {
    return (unsigned)((unsigned long)x * 2654435761u ^ (unsigned long)y * 40503u);
}

static void seg_index(Segments *g) {
    g->size = 4;
    while (g->size < 4 * g->n) g->size *= 2;
    g->table = xmalloc(sizeof(int) * (size_t)g->size);
    g->used = xcalloc((size_t)g->n + 1, 1);
    for (int i = 0; i < g->size; i++) g->table[i] = -1;
    for (int k = 0; k < 2 * g->n; k++) {
        const long *q = g->seg[k / 2] + 2 * (k % 2);
        unsigned h = point_hash(q[0], q[1]) & (unsigned)(g->size - 1);
        while (g->table[h] >= 0) h = (h + 1) & (unsigned)(g->size - 1);
        g->table[h] = k;
    }
}

/* A segment other than `skip`, not yet written, with an end at (x, y): returns
 * 2 * segment + that end, or -1. */
static int seg_find(const Segments *g, long x, long y, int skip) {
    unsigned mask = (unsigned)(g->size - 1);
    for (unsigned h = point_hash(x, y) & mask; g->table[h] >= 0; h = (h + 1) & mask) {
        int k = g->table[h];
        const long *q = g->seg[k / 2] + 2 * (k % 2);
        if (q[0] == x && q[1] == y && k / 2 != skip && !g->used[k / 2]) return k;
    }
    return -1;
}

/* Writes the segments as polylines: from each segment not yet written, walk back along its
 * chain to where the chain begins (or once around a loop), then write the chain forwards. */
static void seg_write(StrBuf *b, Segments *g) {
    seg_index(g);
    for (int i = 0; i < g->n; i++) {
        if (g->used[i]) continue;
        int cur = i, end = 0;   /* the chain's first point is end `end` of segment cur */
        for (int steps = 0; steps < g->n; steps++) {
            const long *p = g->seg[cur] + 2 * end;
            int k = seg_find(g, p[0], p[1], cur);
            if (k < 0 || k / 2 == i) break;
            cur = k / 2;
            end = 1 - k % 2;
        }
        const long *p = g->seg[cur] + 2 * end;
        sb_printf(b, "M%.1f %.1f", p[0] / 10.0, p[1] / 10.0);
        for (;;) {
            g->used[cur] = 1;
            p = g->seg[cur] + 2 * (1 - end);
            sb_printf(b, "L%.1f %.1f", p[0] / 10.0, p[1] / 10.0);
            int k = seg_find(g, p[0], p[1], cur);
            if (k < 0) break;
            cur = k / 2;
            end = k % 2;
        }
    }
    free(g->table);
    free(g->used);
    g->table = NULL;
    g->used = NULL;
    g->n = 0;
}

/* Marching squares: in each cell, the edges whose ends lie on either side of the level are
 * joined in pairs; with four such edges (a saddle cell) the value at the centre decides
 * which corners the level separates. */
static void contour_level(StrBuf *b, const Contour *c, const Scale *s, double level, Segments *g) {
    for (int j = 0; j + 1 < c->ny; j++)
        for (int i = 0; i + 1 < c->nx; i++) {
            const double *z = c->z;
            long at = (long)j * c->nx + i;
            double q[4] = {z[at], z[at + 1], z[at + c->nx + 1], z[at + c->nx]};
            if (!isfinite(q[0]) || !isfinite(q[1]) || !isfinite(q[2]) || !isfinite(q[3])) continue;
            int edges[4], n = 0;
            static const int ea[4] = {0, 1, 3, 0}, eb[4] = {1, 2, 2, 3};
            for (int e = 0; e < 4; e++)
                if ((q[ea[e]] > level) != (q[eb[e]] > level)) edges[n++] = e;
            int pairs[2][2] = {{edges[0], edges[1]}, {-1, -1}};
            if (n == 4) {
                double centre = (q[0] + q[1] + q[2] + q[3]) / 4;
                int same = (centre > level) == (q[0] > level);
                pairs[0][0] = same ? 0 : 3; pairs[0][1] = same ? 1 : 0;
                pairs[1][0] = same ? 2 : 1; pairs[1][1] = same ? 3 : 2;
            } else if (n != 2) {
                continue;
            }
            for (int p = 0; p < 2 && pairs[p][0] >= 0; p++) {
                double x1, y1, x2, y2;
                edge_point(c, s, i, j, q, pairs[p][0], level, &x1, &y1);
                edge_point(c, s, i, j, q, pairs[p][1], level, &x2, &y2);
                seg_add(g, x1, y1, x2, y2);
            }
        }
    seg_write(b, g);
}

static void contour_lines(StrBuf *b, const Contour *c, const Scale *s) {
    Segments g = {0};
    for (int k = 1; k <= c->n_levels; k++) {
        double frac = (double)k / (c->n_levels + 1), level = untransform(s, s->lo + frac * (s->hi - s->lo));
        char col[8];
        if (c->heat) snprintf(col, sizeof col, "#ffffff");
        else {   /* greys, darker for lower levels, so coloured paths stand out */
            int grey = (int)lround(90 + 130 * frac);
            snprintf(col, sizeof col, "#%02x%02x%02x", grey, grey, grey);
        }
        sb_printf(b, "<path class=\"contour\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s "
                  "clip-path=\"url(#area)\" d=\"", col, c->heat ? "0.8" : "1",
                  c->heat ? " stroke-opacity=\"0.55\"" : "");
        contour_level(b, c, s, level, &g);
        sb_printf(b, "\"><title>level %.4g</title></path>\n", level);
    }
    free(g.seg);
}

static void mark_symbol(StrBuf *b, MarkShape shape, double x, double y, const char *title) {
    switch (shape) {
    case MARK_STAR: {
        sb_append(b, "<path class=\"mark\" fill=\"#ffd700\" stroke=\"#000\" stroke-width=\"1\" d=\"");
        for (int k = 0; k < 10; k++) {
            double r = k % 2 ? 4.0 : 10.0, a = -M_PI / 2 + k * M_PI / 5;
            sb_printf(b, "%s%.1f %.1f", k ? "L" : "M", x + r * cos(a), y + r * sin(a));
        }
        sb_append(b, "Z\">");
        break;
    }
    case MARK_DOT:
        sb_printf(b, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\">", x, y);
        break;
    case MARK_CROSS:
        sb_printf(b, "<path class=\"mark\" stroke=\"#000\" stroke-width=\"2.5\" d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\">",
                  x - 6, y - 6, x + 6, y + 6, x - 6, y + 6, x + 6, y - 6);
        break;
    case MARK_SQUARE:
        sb_printf(b, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\">",
                  x - 4.5, y - 4.5);
        break;
    }
    sb_append(b, "<title>");
    escaped(b, title);
    sb_append(b, shape == MARK_STAR ? "</title></path>\n" : shape == MARK_CROSS ? "</title></path>\n"
                 : shape == MARK_DOT ? "</title></circle>\n" : "</title></rect>\n");
}

static void draw_paths(StrBuf *b, const Contour *c, const Scale *s) {
    for (int k = 0; k < c->n_paths; k++) {
        const ContourPath *p = &c->paths[k];
        const char *col = path_colors[k % 10];
        sb_printf(b, "<path class=\"trajectory\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.7\" "
                  "stroke-opacity=\"0.9\" stroke-linejoin=\"round\" clip-path=\"url(#area)\" d=\"", col);
        int pen = 0;
        for (long i = 0; i < p->n; i++) {
            /* far outside the area the pixel values would only bloat the file */
            double x = fmin(fmax(px_x(c, p->x[i]), -1e5), 1e5), y = fmin(fmax(px_y(c, s, p->y[i]), -1e5), 1e5);
            if (!isfinite(p->x[i]) || !isfinite(p->y[i])) { pen = 0; continue; }
            sb_printf(b, "%s%.1f %.1f", pen ? "L" : "M", x, y);
            pen = 1;
        }
        if (!p->n) sb_append(b, "M0 0");
        sb_append(b, "\"><title>");
        escaped(b, p->name);
        sb_append(b, "</title></path>\n");
        for (long i = p->n - 1; i >= 0; i--)   /* where the path ends */
            if (isfinite(p->x[i]) && isfinite(p->y[i])) {
                sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" stroke=\"#fff\" "
                          "stroke-width=\"0.8\" clip-path=\"url(#area)\"/>\n", px_x(c, p->x[i]), px_y(c, s, p->y[i]), col);
                break;
            }
        if (p->dots) {
            sb_printf(b, "<g fill=\"%s\" clip-path=\"url(#area)\">\n", col);
            for (long i = 0; i < p->n; i++)
                if (isfinite(p->x[i]) && isfinite(p->y[i]))
                    sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\"/>\n", px_x(c, p->x[i]), px_y(c, s, p->y[i]));
            sb_append(b, "</g>\n");
        }
    }
    sb_append(b, "<g clip-path=\"url(#area)\">\n");
    for (int k = 0; k < c->n_marks; k++)
        mark_symbol(b, c->marks[k].shape, px_x(c, c->marks[k].x), px_y(c, s, c->marks[k].y), c->marks[k].label);
    sb_append(b, "</g>\n");
}

static void colour_bar(StrBuf *b, const Scale *s, int x, const char *label) {
    int steps = 64;
    for (int k = 0; k < steps; k++) {
        char col[8];
        color_at((k + 0.5) / steps, col);
        double y = TOP + s->ph - (k + 1.0) * s->ph / steps;
        sb_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"16\" height=\"%.2f\" fill=\"%s\"/>\n", x, y,
                  (double)s->ph / steps + 0.6, col);
    }
    sb_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\"/>\n", x, TOP, s->ph);
    for (int k = 0; k <= 5; k++) {   /* six labels, evenly spaced on the colour scale */
        double u = s->lo + k * (s->hi - s->lo) / 5, y = TOP + s->ph - k * s->ph / 5.0;
        char text[32];
        snprintf(text, sizeof text, "%.3g", untransform(s, u));
        sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"tick\"/>\n", x + 16, y, x + 20, y);
        text_at(b, x + 23, y + 4, "start", "", text);
    }
    char rot[64];
    snprintf(rot, sizeof rot, " transform=\"rotate(90 %d %d)\"", x + 80, TOP + s->ph / 2);
    text_at(b, x + 80, TOP + s->ph / 2, "middle", rot, label);
}

static void legend(StrBuf *b, const Contour *c, int x) {
    int y = TOP + 8;
    for (int k = 0; k < c->n_paths; k++, y += 18) {
        sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
                  x, y, x + 24, y, path_colors[k % 10]);
        text_at(b, x + 30, y + 4, "start", "", c->paths[k].name);
    }
    for (int k = 0; k < c->n_marks; k++) {
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= !strcmp(c->marks[j].label, c->marks[k].label);
        if (seen) continue;
        mark_symbol(b, c->marks[k].shape, x + 12, y, c->marks[k].label);
        text_at(b, x + 30, y + 4, "start", "", c->marks[k].label);
        y += 20;
    }
}

int contour_write_svg(const Contour *c, const char *path, char *err) {
    Scale s = make_scale(c);
    int has_legend = c->n_paths > 0 || c->n_marks > 0;
    int width = LEFT + PW + (c->heat ? BAR_W : 0) + (has_legend ? LEGEND_W : 24);
    int height = TOP + s.ph + BOTTOM;
    StrBuf b;
    sb_init(&b);
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "font-family=\"sans-serif\" font-size=\"12\">\n"
              "<style>.tick{stroke:#333}.frame{fill:none;stroke:#333}</style>\n"
              "<defs><clipPath id=\"area\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath></defs>\n"
              "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
              width, height, width, height, LEFT, TOP, PW, s.ph);
    text_at(&b, LEFT + PW / 2.0, 26, "middle", " font-size=\"15\"", c->title);
    if (c->heat && c->nx > 1 && c->ny > 1) heat_cells(&b, c, &s);
    if (c->n_levels > 0 && c->nx > 1 && c->ny > 1) contour_lines(&b, c, &s);
    draw_paths(&b, c, &s);
    sb_printf(&b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LEFT, TOP, PW, s.ph);
    axis_ticks(&b, c, &s, 0);
    axis_ticks(&b, c, &s, 1);
    text_at(&b, LEFT + PW / 2.0, TOP + s.ph + 42, "middle", "", c->x_label);
    char rot[64];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 18 %d)\"", TOP + s.ph / 2);
    text_at(&b, 18, TOP + s.ph / 2.0, "middle", rot, c->y_label);
    if (c->heat) colour_bar(&b, &s, LEFT + PW + 18, c->z_label);
    if (has_legend) legend(&b, c, LEFT + PW + (c->heat ? BAR_W : 0) + 24);
    sb_append(&b, "</svg>\n");
    FILE *f = fopen(path, "w");
    int ok = f && fputs(b.s, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    sb_free(&b);
    return ok ? 0 : errf(err, "%s: %s", path, strerror(errno));
}

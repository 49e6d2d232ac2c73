/* plot.h: line charts as standalone SVG files (no external tools): axes with "nice" ticks
 * (1, 2, 5 x 10^k; powers of ten on a log scale), axis labels, a title, a legend outside the
 * plot area (on the right, widening the chart), one <path>
 * per series (NaN values break the line), an optional second y axis on the right and
 * vertical markers. */
#ifndef PLOT_H
#define PLOT_H

#define PLOT_MAX_SERIES 16
#define PLOT_MAX_MARKS 4

typedef struct {
    const char *name;        /* legend text */
    const double *x, *y;
    int n;
    int right_axis;          /* 1: scaled against the right-hand y axis */
    int dashed;
} PlotSeries;

typedef struct {
    const char *title, *x_label, *y_label, *y2_label;
    int log_x, log_y, log_y2;
    int legend_bottom;       /* legend level with the plot's bottom, not its top */
    PlotSeries series[PLOT_MAX_SERIES];
    int n_series;
    double mark_x[PLOT_MAX_MARKS];       /* vertical dashed lines with a label */
    const char *mark_label[PLOT_MAX_MARKS];
    int n_marks;
} Plot;

void plot_init(Plot *p, const char *title, const char *x_label, const char *y_label);
void plot_add(Plot *p, const char *name, const double *x, const double *y, int n, int right_axis);
void plot_mark(Plot *p, double x, const char *label);
/* Writes the chart to path. Returns 0, or -1 with err = "<path>: <why>". */
int plot_write_svg(const Plot *p, const char *path, char *err);
/* Writes n charts into one SVG file, laid out left to right in rows of `cols`, each drawn as
 * plot_write_svg would draw it alone. Returns 0, or -1 with err = "<path>: <why>". */
int plot_write_svg_grid(const Plot *panels, int n, int cols, const char *path, char *err);

#endif

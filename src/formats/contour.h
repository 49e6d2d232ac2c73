/* contour.h: pictures of a function of two variables as standalone SVG files: a heat map
 * with a colour scale (optional), contour lines (marching squares, levels spaced evenly or,
 * for functions that span decades, by ratio above the minimum), paths drawn over it (an
 * optimizer's trajectory, a run's checkpoints) and marked points (minima, starts), with a
 * legend. The axes keep x and y to the same scale when the aspect allows. */
#ifndef FORMATS_CONTOUR_H
#define FORMATS_CONTOUR_H

#define CONTOUR_MAX_PATHS 16
#define CONTOUR_MAX_MARKS 16

typedef enum { MARK_STAR, MARK_DOT, MARK_CROSS, MARK_SQUARE } MarkShape;

typedef struct {
    const char *name;        /* legend text and the path's <title> */
    const double *x, *y;
    long n;                  /* non-finite points break the line */
    int dots;                /* a dot at every point */
} ContourPath;

typedef struct {
    double x, y;
    const char *label;       /* legend text (marks of the same label share one entry) */
    MarkShape shape;
} ContourMark;

typedef struct {
    const char *title, *x_label, *y_label, *z_label;
    /* the values: z[j * nx + i] at (x0 + i (x1 - x0) / (nx - 1), y0 + j (y1 - y0) / (ny - 1)) */
    const double *z;
    int nx, ny;
    double x0, x1, y0, y1;
    int heat;                /* fill the cells by value, with a colour bar */
    int log_z;               /* levels and colours evenly spaced in log(z - min + range/1e4) */
    int n_levels;            /* contour lines (0: none) */
    ContourPath paths[CONTOUR_MAX_PATHS];
    int n_paths;
    ContourMark marks[CONTOUR_MAX_MARKS];
    int n_marks;
} Contour;

void contour_init(Contour *c, const char *title, const char *x_label, const char *y_label,
                  const char *z_label);
void contour_grid(Contour *c, const double *z, int nx, int ny, double x0, double x1, double y0,
                  double y1);
void contour_add_path(Contour *c, const char *name, const double *x, const double *y, long n,
                      int dots);
void contour_add_mark(Contour *c, double x, double y, const char *label, MarkShape shape);
/* Returns 0, or -1 with err = "<path>: <why>". */
int contour_write_svg(const Contour *c, const char *path, char *err);

#endif

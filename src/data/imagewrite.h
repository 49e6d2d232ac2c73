/* imagewrite.h: writing grayscale images as PNG files (stb_image_write), for export-images. */
#ifndef DATA_IMAGEWRITE_H
#define DATA_IMAGEWRITE_H

#include <stdint.h>

/* Writes w x h 8-bit gray pixels (row by row) to path as a PNG. Returns 0, or -1 with
 * err = "<path>: <why>" (a partial file is removed). */
int png_write_gray(const char *path, int w, int h, const uint8_t *pixels, char *err);

#endif

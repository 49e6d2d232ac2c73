/* export_images.h: `train export-images --data D --out DIR [--split train|test] [--count N]`:
 * a dataset as PNG files in the image-folder layout (see export_images.c). */
#ifndef COMMANDS_EXPORT_IMAGES_H
#define COMMANDS_EXPORT_IMAGES_H

int cmd_export_images(int argc, char **argv);

#endif

/* export_onnx.h: `train export --onnx FILE --ckpt FILE|RUN_DIR`: the trained network as an
 * ONNX model (see export_onnx.c). */
#ifndef COMMANDS_EXPORT_ONNX_H
#define COMMANDS_EXPORT_ONNX_H

int cmd_export(int argc, char **argv);

#endif

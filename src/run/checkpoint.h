/* checkpoint.h: a training run's complete state <-> a safetensors file.
 *
 * Tensors: the model's parameters under nn.Sequential names ("0.weight" [out, in], "0.bias",
 * ...), nothing else, so PyTorch's load_state_dict takes the file as it is.
 * __metadata__ (all strings):
 *   format          "train-checkpoint/1"
 *   config          the run's resolved options as JSON (as config.json)
 *   step            optimizer steps completed
 *   samples         training examples consumed
 *   sampler         "<epoch_rng.state> <epoch_rng.inc> <rng.state> <rng.inc> <epoch> <pos>"
 *   dropout_rng     "<state> <inc>"
 *   best_val_loss   lowest validation loss so far, best_step its step
 *   train_seconds   time spent in training steps so far
 *   skipped         updates skipped for a non-finite gradient (--skip-nonfinite)
 *   bad_evals       evaluations without improvement since the best (--early-stop)
 *   optimizer       the optimizer's name; optimizer_state: its state floats, little-endian,
 *                   base64 (n_state slots of n_params floats, slot-major)
 *   crc32           of the tensor data (written and checked by safetensors.c) */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include "run/config.h"
#include "nn/graph.h"
#include "formats/safetensors.h"
#include "data/sampler.h"

typedef struct {
    long step, samples;
    Rng sampler_epoch_rng, sampler_rng;
    long sampler_epoch, sampler_pos;
    Rng dropout_rng;
    double best_val_loss;
    long best_step;
    double train_seconds;
    long skipped;           /* steps whose update --skip-nonfinite skipped */
    long bad_evals;         /* evaluations since the best one (--early-stop) */
} TrainState;

/* Writes (atomically) parameters, config, state and optimizer state (may be NULL). */
int ckpt_save(const char *path, const Graph *g, const Config *c, const TrainState *s,
              const float *opt_state, long n_opt_state, char *err);

/* Reads the config stored in a checkpoint file (opened with st_read) over c. */
int ckpt_config(const StFile *f, Config *c, char *err);
/* Copies the file's parameters into g: every tensor of g must be present with its shape. */
int ckpt_weights(const StFile *f, Graph *g, const char *path, char *err);
/* Restores state and optimizer state (n_opt_state floats must be stored). */
int ckpt_state(const StFile *f, TrainState *s, float *opt_state, long n_opt_state,
               const char *path, char *err);

#endif

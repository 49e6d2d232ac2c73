/* checkpoint.h: a training run's complete state <-> a safetensors file.
 *
 * Tensors: the model's state under nn.Sequential names ("0.weight" [out, in], "0.bias",
 * "1.running_mean", "1.num_batches_tracked" (I64), ...), so PyTorch's load_state_dict takes
 * a model file as it is; then, in files that carry the optimizer (last.safetensors and the
 * --keep copies), its state tensors "optimizer.<tensor>.<state>" (e.g.
 * optimizer.0.weight.exp_avg, shaped as the parameter).
 * __metadata__ (all strings):
 *   format          "train-checkpoint/3"
 *   config          the run's resolved options as JSON (as config.json)
 *   step            optimizer steps completed
 *   samples         training examples consumed
 *   sampler         "<epoch_rng.state> <epoch_rng.inc> <rng.state> <rng.inc> <epoch> <pos>"
 *   dropout_rng     "<state> <inc>"
 *   best_val_loss   lowest validation loss so far, best_step its step
 *   train_seconds   time spent in training steps so far
 *   skipped         updates skipped for a non-finite gradient (--skip-nonfinite)
 *   bad_evals       evaluations without improvement since the best (--early-stop)
 *   noise_ema       "<|G|^2 average> <tr(Sigma) average>" (--log-noise)
 *   optimizer       the optimizer's name
 *   optimizer_scalars, optimizer_rng   the running scalars ("name=value ...") and random
 *                   stream of optimizers that keep them (lbfgs, sf-*, sophia: optim/closure.h)
 *   log_bytes       the length of log.csv when the file was written: a resume cuts the log there
 *   stopped         "completed", "early-stop" or "overfit" when this is the run's final state,
 *                   else ""
 *   crc32           of the whole file, metadata included (written and checked by safetensors.c)
 * Every number is a plain decimal; reading validates each field (strict integers, ranges,
 * PCG32 increments odd). With weight averaging (run/averaging.h) the model tensors are the
 * averaged model's, and the trained model's are beside them as raw.<name> (with n_averaged,
 * I64). Files of format 2 (a CRC32 of the tensor data alone, no log_bytes or stopped) and
 * format 1 (also the optimizer state as base64 metadata, n_slots x n_params floats,
 * slot-major) are read too. */
#ifndef RUN_CHECKPOINT_H
#define RUN_CHECKPOINT_H

#include "data/sampler.h"
#include "formats/safetensors.h"
#include "instruments/noise.h"
#include "nn/net.h"
#include "optim/optim.h"
#include "run/config.h"

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
    long log_bytes;         /* length of log.csv at the checkpoint; -1: not recorded (format 1, 2) */
    char stopped[16];       /* why the run ended at this state ("" while it runs on) */
    const StTensor *extra;  /* more tensors to write (weight averaging's raw.<name>), or NULL */
    int n_extra;
    NoiseEma noise;         /* --log-noise: the averages of |G|^2 and tr(Sigma) */
} TrainState;

/* Writes (atomically) the model, config, state and, when o is not NULL, the optimizer. */
int ckpt_save(const char *path, const Net *n, const Config *c, const TrainState *s,
              const Optim *o, char *err);

/* A file written by train (format "train-checkpoint/N") must carry its checksum (over the
 * whole file from format 3 on); one that carries train's state without saying so was edited.
 * Files from elsewhere (PyTorch, no training state) pass. Returns 0, or -1 with err. */
int ckpt_check_origin(const StFile *f, const char *path, char *err);
/* Reads the config stored in a checkpoint file (opened with st_read) over c. */
int ckpt_config(const StFile *f, Config *c, char *err);
/* Checks, without touching n's memory (it may not be allocated yet), that the file holds
 * every parameter and buffer of n with its shape and dtype, and no other model tensors. */
int ckpt_check_model(const StFile *f, const Net *n, const char *path, char *err);
/* ckpt_check_model, then copies the file's model tensors into n. */
int ckpt_load_model(const StFile *f, Net *n, const char *path, char *err);
/* Restores the training state and the optimizer's state. */
int ckpt_load_state(const StFile *f, TrainState *s, Optim *o, const char *path, char *err);

#endif

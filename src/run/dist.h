/* dist.h: data-parallel training over the ranks of an MPI job (`make MPI=1`, launched with
 * `mpirun -np N ./train ...`). The network and optimizer layers know nothing of it: the run
 * layer calls it at a few fixed points, and in a build without MPI (or a process not started
 * by a launcher) every function is the single-process case: one rank, rank 0, nothing sent.
 *
 * What a step does on N ranks (step.c, group.c):
 *   - every rank draws the same global group from the same sampler (same seed, same state);
 *   - each global micro-batch of --batch examples is cut into N equal contiguous pieces,
 *     rank r taking piece r (a partial micro-batch at the end of an epoch: as equal as the
 *     rows allow); --batch must divide by N;
 *   - forward and backward on the piece, the loss scaled by 1 / (global group size), so the
 *     per-rank gradients sum to the gradient of the whole group;
 *   - one MPI_Allreduce (sum) over the flat gradient buffer, then the step's loss sum,
 *     correct count and pending signals gathered from every rank and summed in rank order;
 *   - clipping and the update run on every rank on the identical summed gradient.
 * Dropout masks come from a stream per rank and step, derived from the run's dropout stream
 * (which advances identically on every rank, so checkpoints do not depend on N).
 * BatchNorm normalises each rank's piece with its own statistics, as PyTorch's
 * DistributedDataParallel does without SyncBatchNorm; the running statistics used for
 * evaluation and saved in checkpoints are rank 0's (DDP's broadcast_buffers).
 *
 * Rank 0 alone writes the run directory; the others print no progress and no warnings,
 * their stdout goes to /dev/null, and their errors carry "rank N:" (util.h). Every
 * collective has a bounded wait (--mpi-timeout): a rank that stops answering makes the
 * others stop with a message instead of hanging; MPI errors are returned, not fatal inside
 * MPI, and reported the same way. */
#ifndef RUN_DIST_H
#define RUN_DIST_H

#include "run/trainer.h"

#include <signal.h>

/* Joins the MPI job when the process was started by a launcher (mpirun sets
 * OMPI_COMM_WORLD_SIZE; PMI_SIZE and PMIX_RANK are honoured too) unless TRAIN_NO_MPI is set.
 * command: the subcommand about to run; under more than one rank only train, eval and sweep
 * are allowed. Processes this one starts afterwards (a sweep's runs) run single-process. */
void dist_start(const char *command, int argc, char **argv);
int dist_rank(void);
int dist_size(void);
int dist_is_root(void);
/* "MPI: <library version>" or "without MPI", for --version. */
const char *dist_version(void);
/* " | N ranks" for the progress line, "" for one. */
const char *dist_ranks_note(void);

/* ---- set-up (setup.c) */
/* Takes the run's MPI settings (--mpi-timeout) and returns this rank's thread count:
 * --threads, else under a launcher OMP_NUM_THREADS when set, else 0 (all the cores the rank
 * may use). */
int dist_configure(const Config *c);
/* Refuses (exit 2) a global micro-batch of `rows` examples that does not divide among the
 * ranks. full: it is --batch full. */
void dist_check_batch(long rows, int full);
/* The most rows of a piece of a micro-batch of `rows` examples (ceil(rows / N)). */
long dist_shard_rows(long rows);
/* The fewest rows a non-empty piece of a micro-batch of `rows` examples holds. */
long dist_smallest_piece(long rows);
/* After set-up: the ranks must start from the same weights (compared by checksum). */
void dist_setup(Trainer *t);

/* ---- one step (step.c) */
/* Keeps this rank's pieces of the group of `count` indices in t->group_idx (in order) and
 * returns how many; switches dropout to this rank's stream for the step. */
int dist_step_begin(Trainer *t, int count);
/* After each pass over this rank's pieces (the step's own, L-BFGS's re-evaluations): the
 * gradient all-reduce and the pass's figures summed over the ranks (loss_sum, correct). */
void dist_group_sum(Trainer *t, double *loss_sum, long *correct);
/* At the end of the step, after the update: the run's dropout stream back. */
void dist_step_end(Trainer *t);

/* ---- evaluation (evaluate.c) */
/* This rank's contiguous slice [lo, hi) of n examples. */
void dist_slice(int n, int *lo, int *hi);
/* Sums of the slices' loss and correct count, in rank order. */
void dist_sum_eval(double *loss_sum, long *correct);
/* Rank 0's BatchNorm running statistics to every rank (before an evaluation). */
void dist_sync_buffers(Net *n);

/* ---- the loop (loop.c) */
/* The loop's signal flag, read at every step so that all ranks stop at the same step. */
void dist_watch_signal(volatile sig_atomic_t *flag);
/* The signal the run stops for: under several ranks, the one the ranks agreed on at the
 * last step; otherwise `local`. */
int dist_stop(int local);
/* Compares a checksum of the weights across the ranks; a difference stops the run (exit 1). */
void dist_check_weights(const Net *n, long step);
/* Rank 0's parameters and buffers to every rank. */
void dist_bcast_model(Net *n);
/* x[0..n) summed over the ranks, in rank order (n <= 4). */
void dist_sum_doubles(double *x, int n);
/* Rank 0's v (what rank 0 alone may read or decide, e.g. from the run directory). */
int dist_root_int(int v);
/* Rank 0's weight averaging state (the averaged weights, the trained ones beside them and
 * n_averaged) to every rank. */
void dist_bcast_averaging(Averaging *a, long n_params);

/* ---- sweeps (commands/sweep.c): run k belongs to rank k mod N, one run per rank at a time */
void dist_sweep_begin(void);
int dist_sweep_owns(int k);
/* Called for every k after its run (rc: its exit code on the rank that ran it, else 0). At
 * the end of each round of N runs the ranks agree on the first run that failed: returns its
 * index with *rc its exit code, or -1. */
int dist_sweep_agree(int k, int n, int *rc);

#endif

/* dist.c: data-parallel training over MPI ranks, see dist.h.
 *
 * The first part is the transport: joining the job and five collectives (sum of floats,
 * gather of bytes, broadcast, barrier), each under a watchdog, with MPI's errors returned to
 * us. It is MPI behind TRAIN_MPI and the one-rank case otherwise. Everything after it is
 * written once over (rank, size) and reduces to the single-process code when size is 1, so
 * a build without MPI trains exactly as it always has. */
#include "run/dist.h"
#include "util/util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#ifdef TRAIN_MPI
#include <mpi.h>
#endif

#define DEFAULT_TIMEOUT 300.0     /* seconds; --mpi-timeout */
#define STREAM_RANK_DROPOUT 1000  /* + rank: the per-rank dropout streams */

static struct {
    int rank, size;
    int joined;                   /* MPI_Init was called (by this process) */
    pid_t pid;                    /* the process that joined (not a forked child) */
    double timeout;               /* bound on every wait, seconds (0: none) */
    long step;                    /* the step under way, for messages */
    volatile sig_atomic_t *signal_flag;
    int agreed_signal;            /* what the ranks agreed on at the last step */
    Rng run_dropout;              /* the run's dropout stream while a step uses the rank's */
    int sweep_failed, sweep_rc;   /* this rank's first failed sweep run */
    unsigned char *gathered;      /* GATHER_MAX bytes per rank, for the all-gathers */
} D = {0, 1, 0, 0, DEFAULT_TIMEOUT, 0, NULL, 0, {0, 0}, -1, 0, NULL};

#define GATHER_MAX 32             /* bytes per rank of the largest all-gather (a step's figures) */

int dist_rank(void) { return D.rank; }
int dist_size(void) { return D.size; }
int dist_is_root(void) { return D.rank == 0; }

const char *dist_ranks_note(void) {
    static char note[32];
    if (D.size > 1 && !note[0]) snprintf(note, sizeof note, " | %d ranks", D.size);
    return note;
}

/* ---------------------------------------------------------------- transport */
#ifdef TRAIN_MPI

/* ---- the watchdog: a wait on the other ranks longer than the timeout ends the process with
 * a message (then mpirun ends the others). The message is written before the wait because
 * the signal handler may only call async-signal-safe functions. */
static char watchdog_msg[512];
static size_t watchdog_len;

static void on_watchdog(int sig) {
    (void)sig;
    if (write(2, watchdog_msg, watchdog_len) < 0) { /* nothing left to tell */ }
    _exit(EXIT_FAIL);
}

static void watch(const char *what, double timeout) {
    if (timeout <= 0) return;
    char rank[32] = "";
    if (D.rank > 0) snprintf(rank, sizeof rank, "rank %d: ", D.rank);
    int len = snprintf(watchdog_msg, sizeof watchdog_msg,
                       "train: %sno answer from the other ranks for %g s (%s, step %ld): a rank has "
                       "died or hangs; stopping (the run's last checkpoint is intact; resume from it)\n",
                       rank, timeout, what, D.step);
    watchdog_len = len < 0 ? 0 : (size_t)len < sizeof watchdog_msg ? (size_t)len : sizeof watchdog_msg - 1;
    struct itimerval it = {{0, 0}, {(time_t)timeout, (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)}};
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void unwatch(void) {
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
}

static void check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
    fatal(EXIT_FAIL, "MPI: %s failed at step %ld: %s; stopping (the run's last checkpoint is intact)",
          what, D.step, text);
}

/* Finalizes after a successful exit; after a failure mpirun ends the job (and a finalize could
 * wait for ranks that are gone). */
static void on_exit_finalize(int status, void *arg) {
    (void)arg;
    if (status == 0 && getpid() == D.pid) MPI_Finalize();
}

static void join(int *argc, char ***argv) {
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        fatal(EXIT_FAIL, "MPI: MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &D.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &D.size);
    D.gathered = xmalloc((size_t)GATHER_MAX * (size_t)D.size);   /* once: a step allocates nothing */
    D.joined = 1;
    D.pid = getpid();
    on_exit(on_exit_finalize, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
}

static void sum_floats(float *x, long n, const char *what) {
    watch(what, D.timeout);   /* n <= INT_MAX: dist_setup checks */
    check(MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), what);
    unwatch();
}

/* all[r * len ..] = rank r's `mine` (len bytes each) */
static void gather_bytes(const void *mine, int len, void *all, const char *what, double timeout) {
    watch(what, timeout);
    check(MPI_Allgather(mine, len, MPI_BYTE, all, len, MPI_BYTE, MPI_COMM_WORLD), what);
    unwatch();
}

static void bcast_bytes(void *x, long n, const char *what) {
    watch(what, D.timeout);
    for (long done = 0; done < n; done += INT_MAX) {
        int k = n - done < INT_MAX ? (int)(n - done) : INT_MAX;
        check(MPI_Bcast((char *)x + done, k, MPI_BYTE, 0, MPI_COMM_WORLD), what);
    }
    unwatch();
}

static void barrier(const char *what) {
    watch(what, D.timeout);
    check(MPI_Barrier(MPI_COMM_WORLD), what);
    unwatch();
}

const char *dist_version(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING + 8];
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n")] = 0;   /* "Open MPI v4.1.4" */
    snprintf(v, sizeof v, "MPI: %s", lib);
    return v;
}

#else   /* one process: the collectives of a single rank */

static void sum_floats(float *x, long n, const char *what) { (void)x; (void)n; (void)what; }
static void gather_bytes(const void *mine, int len, void *all, const char *what, double timeout) {
    (void)what; (void)timeout;
    memcpy(all, mine, (size_t)len);
}
static void bcast_bytes(void *x, long n, const char *what) { (void)x; (void)n; (void)what; }
static void barrier(const char *what) { (void)what; }
const char *dist_version(void) { return "without MPI; make MPI=1 builds it with Open MPI"; }

#endif

/* ---------------------------------------------------------------- start */

/* The job's size as the launcher put it in the environment (Open MPI's mpirun, or a PMI
 * launcher such as MPICH's), with this process's rank; 0 when not launched. */
static int launched_size(int *rank) {
    const char *vars[][2] = {{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"}, {"PMI_SIZE", "PMI_RANK"}};
    if (getenv("TRAIN_NO_MPI")) return 0;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *n = getenv(vars[i][0]), *r = getenv(vars[i][1]);
        if (n) {
            *rank = r ? atoi(r) : 0;
            return atoi(n) > 0 ? atoi(n) : 1;
        }
    }
    return 0;
}

void dist_start(const char *command, int argc, char **argv) {
    int rank = 0, size = launched_size(&rank);
#ifdef TRAIN_MPI
    if (size > 0) join(&argc, &argv);
#else
    if (size > 1) {   /* N copies of one program writing one run directory: refuse */
        util_set_rank(rank);
        fatal(EXIT_USAGE, "this train was built without MPI but started as one of %d ranks: build it "
              "with make MPI=1 (or run it without mpirun)", size);
    }
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--mpi-timeout", 13) && (!argv[i][13] || argv[i][13] == '='))
            fatal(EXIT_USAGE, "--mpi-timeout: this train was built without MPI (make MPI=1 builds it)");
#endif
    if (!D.joined) return;
    util_set_rank(D.rank);
    /* the runs a sweep starts are processes of their own, not ranks of this job */
    setenv("TRAIN_NO_MPI", "1", 1);
    if (D.rank > 0 && !freopen("/dev/null", "w", stdout))
        fatal(EXIT_FAIL, "/dev/null: cannot open for stdout");
    if (D.size > 1 && strcmp(command, "train") && strcmp(command, "eval") && strcmp(command, "sweep"))
        fatal(EXIT_USAGE, "%s: runs in one process; start it without mpirun (train, eval and sweep "
              "run on several ranks)", command);
}

/* ---------------------------------------------------------------- set-up */

int dist_configure(const Config *c) {
    D.timeout = c->mpi_timeout;
    if (c->threads > 0 || !D.joined) return (int)c->threads;
    const char *omp = getenv("OMP_NUM_THREADS");
    char *end;
    long n = omp ? strtol(omp, &end, 10) : 0;
    return omp && *omp && !*end && n > 0 && n <= 4096 ? (int)n : 0;
}

void dist_check_batch(long rows, int full) {
    if (D.size == 1 || rows % D.size == 0) return;
    if (full)
        fatal(EXIT_USAGE, "--batch full: the %ld training examples do not divide among %d ranks (each "
              "rank takes an equal piece of every micro-batch): change --subset or --val so that they "
              "do, or give a --batch that divides by %d", rows, D.size, D.size);
    long below = rows - rows % D.size, above = below + D.size;
    char hint[64] = "";
    if (below > 0) snprintf(hint, sizeof hint, " such as %ld or %ld", below, above);
    else snprintf(hint, sizeof hint, " such as %ld", above);
    fatal(EXIT_USAGE, "--batch: %ld examples per micro-batch do not divide among %d ranks (each rank "
          "takes an equal piece): use a multiple of %d%s, or another number of ranks", rows, D.size,
          D.size, hint);
}

long dist_shard_rows(long rows) { return (rows + D.size - 1) / D.size; }

long dist_smallest_piece(long rows) { return rows >= D.size ? rows / D.size : 1; }

/* FNV-1a over the parameters' 32-bit words: equal weights, equal checksum. */
static uint64_t checksum(const Net *n) {
    const uint32_t *w = (const uint32_t *)(const void *)n->params;
    uint64_t h = 1469598103934665603ull;
    for (long i = 0; i < n->n_params; i++) h = (h ^ w[i]) * 1099511628211ull;
    return h;
}

/* 1 if every rank's checksum equals rank 0's; else fills `detail`. */
static int same_weights(const Net *n, char *detail, size_t len) {
    uint64_t mine = checksum(n), *all = (uint64_t *)(void *)D.gathered;
    gather_bytes(&mine, sizeof mine, all, "comparing the weights", D.timeout);
    int same = 1;
    for (int r = 1; r < D.size && same; r++)
        if (all[r] != all[0]) {
            snprintf(detail, len, "checksum %016llx on rank 0, %016llx on rank %d",
                     (unsigned long long)all[0], (unsigned long long)all[r], r);
            same = 0;
        }
    return same;
}

/* An error every rank has found alike: rank 0 reports it, all stop. */
static void fatal_all(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fatal_all(const char *fmt, ...) {
    if (D.rank > 0) exit(EXIT_FAIL);
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fatal(EXIT_FAIL, "%s", msg);
}

void dist_setup(Trainer *t) {
    if (D.size == 1) return;
    if (t->net.n_params > INT_MAX) fatal(EXIT_USAGE, "--model: more than %d parameters", INT_MAX);
    char detail[160];
    if (!same_weights(&t->net, detail, sizeof detail))
        fatal_all("the ranks start from different weights (%s): give every rank the same flags, "
                  "--seed, --init or --resume", detail);
}

/* ---------------------------------------------------------------- one step */

int dist_step_begin(Trainer *t, int count) {
    D.step = t->st.step + 1;
    if (D.size == 1) return count;
    long micro = t->c.batch == BATCH_FULL ? t->train.n : t->c.batch;
    int *idx = t->group_idx, kept = 0;
    for (long start = 0; start < count; start += micro) {
        long m = count - start < micro ? count - start : micro;
        long lo = start + m * D.rank / D.size, hi = start + m * (D.rank + 1) / D.size;
        memmove(idx + kept, idx + lo, sizeof(int) * (size_t)(hi - lo));
        kept += (int)(hi - lo);
    }
    /* two draws of the run's stream seed this rank's stream for the step: the run's stream
     * moves the same on every rank, whatever N is */
    Net *n = &t->net;
    uint64_t seed = (uint64_t)rng_u32(&n->dropout_rng) << 32;
    seed |= rng_u32(&n->dropout_rng);
    D.run_dropout = n->dropout_rng;
    rng_seed(&n->dropout_rng, seed, STREAM_RANK_DROPOUT + (uint64_t)D.rank);
    return kept;
}

void dist_group_sum(Trainer *t, double *loss_sum, long *correct) {
    if (D.size == 1) return;
    Net *n = &t->net;
    if (n->overwrite_grads) {   /* no rows here this pass: this rank adds nothing */
        memset(n->grads, 0, sizeof(float) * (size_t)n->n_params);
        n->overwrite_grads = 0;
    }
    sum_floats(n->grads, n->n_params, "the gradient all-reduce");
    int sig = D.signal_flag ? *D.signal_flag : 0;
    double mine[4] = {*loss_sum, (double)*correct, sig == SIGINT, sig == SIGTERM};
    double *all = (double *)(void *)D.gathered, sum[4] = {0, 0, 0, 0};
    gather_bytes(mine, sizeof mine, all, "the step's loss", D.timeout);
    for (int r = 0; r < D.size; r++)   /* in rank order: the same bits on every rank */
        for (int k = 0; k < 4; k++) sum[k] += all[4 * r + k];
    *loss_sum = sum[0];
    *correct = (long)sum[1];
    D.agreed_signal = sum[3] > 0 ? SIGTERM : sum[2] > 0 ? SIGINT : 0;
}

void dist_step_end(Trainer *t) {
    if (D.size == 1) return;
    t->net.dropout_rng = D.run_dropout;
}

/* ---------------------------------------------------------------- evaluation */

void dist_slice(int n, int *lo, int *hi) {
    *lo = (int)((long)n * D.rank / D.size);
    *hi = (int)((long)n * (D.rank + 1) / D.size);
}

void dist_sum_eval(double *loss_sum, long *correct) {
    if (D.size == 1) return;
    double mine[2] = {*loss_sum, (double)*correct}, *all = (double *)(void *)D.gathered;
    gather_bytes(mine, sizeof mine, all, "the evaluation", D.timeout);
    double loss = 0, right = 0;
    for (int r = 0; r < D.size; r++) { loss += all[2 * r]; right += all[2 * r + 1]; }
    *loss_sum = loss;
    *correct = (long)right;
}

void dist_sync_buffers(Net *n) {
    if (D.size == 1) return;
    if (n->n_buffers) bcast_bytes(n->buffers, (long)sizeof(float) * n->n_buffers, "the running statistics");
    if (n->n_counters) bcast_bytes(n->counters, (long)sizeof(int64_t) * n->n_counters, "the running statistics");
}

/* ---------------------------------------------------------------- the loop */

void dist_watch_signal(volatile sig_atomic_t *flag) { D.signal_flag = flag; }

int dist_stop(int local) { return D.size > 1 ? D.agreed_signal : local; }

void dist_check_weights(const Net *n, long step) {
    if (D.size == 1) return;
    char detail[160];
    D.step = step;
    if (!same_weights(n, detail, sizeof detail))
        fatal_all("the weights differ between the ranks at step %ld (%s): the ranks no longer apply "
                  "the same update (different flags or binaries on the ranks?); stopping before this "
                  "step's checkpoint, the previous one stands", step, detail);
}

void dist_bcast_model(Net *n) {
    if (D.size == 1) return;
    bcast_bytes(n->params, (long)sizeof(float) * n->n_params, "sharing the weights");
    dist_sync_buffers(n);
}

void dist_sum_doubles(double *x, int n) {
    if (D.size == 1) return;
    double *all = (double *)(void *)D.gathered;
    gather_bytes(x, (int)(sizeof(double) * (size_t)n), all, "the instruments' sums", D.timeout);
    for (int k = 0; k < n; k++) {
        x[k] = 0;
        for (int r = 0; r < D.size; r++) x[k] += all[n * r + k];   /* in rank order */
    }
}

int dist_root_int(int v) {
    if (D.size > 1) bcast_bytes(&v, (long)sizeof v, "sharing the run's state");
    return v;
}

void dist_bcast_averaging(Averaging *a, long n_params) {
    if (D.size == 1 || a->kind == AVG_NONE) return;
    bcast_bytes(a->params, (long)sizeof(float) * n_params, "sharing the averaged weights");
    for (int i = 0; i < a->n_extra; i++) {
        const StTensor *x = &a->extra[i];
        long count = (long)st_elements(x);
        if (x->dtype == ST_I64) bcast_bytes(x->i64, (long)sizeof(int64_t) * count, "sharing the averaged weights");
        else bcast_bytes(x->data, (long)sizeof(float) * count, "sharing the averaged weights");
    }
    int flags[2] = {a->frozen, a->stats_final};
    bcast_bytes(flags, (long)sizeof flags, "sharing the averaged weights");
    a->frozen = flags[0];
    a->stats_final = flags[1];
}

/* ---------------------------------------------------------------- sweeps */

void dist_sweep_begin(void) {
    if (D.size > 1) barrier("the sweep's start");
}

int dist_sweep_owns(int k) { return k % D.size == D.rank; }

int dist_sweep_agree(int k, int n, int *rc) {
    if (*rc != 0 && D.sweep_failed < 0) { D.sweep_failed = k; D.sweep_rc = *rc; }
    if (D.size > 1) {
        if ((k + 1) % D.size != 0 && k != n - 1) { *rc = 0; return -1; }   /* mid-round */
        int mine[2] = {D.sweep_failed, D.sweep_rc}, *all = (int *)(void *)D.gathered;
        /* the other ranks' runs take as long as they take: no bound on this wait */
        gather_bytes(mine, sizeof mine, all, "the sweep's round", 0);
        for (int r = 0; r < D.size; r++)
            if (all[2 * r] >= 0 && (D.sweep_failed < 0 || all[2 * r] < D.sweep_failed)) {
                D.sweep_failed = all[2 * r];
                D.sweep_rc = all[2 * r + 1];
            }
    }
    *rc = D.sweep_rc;
    return D.sweep_failed;
}

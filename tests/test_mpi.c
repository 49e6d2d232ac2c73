/* Data-parallel training under mpirun (`make MPI=1`): builds build-mpi/train itself (./train,
 * the build without MPI, is left alone) and checks that N ranks train what one process
 * trains: the same weights as one process with the same global batch within float
 * summation (and bit for bit as one process that accumulates the ranks' pieces), BatchNorm
 * per rank, resume with the same or another N, the weights checksum, a rank that dies or
 * hangs, SIGTERM to mpirun, the refusals, `train eval` and `train sweep` over the ranks.
 * Skipped, with a notice, when Open MPI (mpicc, mpirun) is not installed or when the suite
 * runs against another binary (make asan). */
#include "test.h"

#define RUNS "tests/tmp/mpi"
#include "e2e.h"

#include <string.h>

#define MPIRUN_BARE "mpirun --allow-run-as-root --oversubscribe"
#define MPIRUN "timeout 300 " MPIRUN_BARE   /* a hang fails the test instead of the suite */
#define MPI_TRAIN "build-mpi/train"

/* mpirun -np NP build-mpi/train FLAGS into run NAME (stdout and stderr in RUNS/NAME.out, .err):
 * its exit code. */
static int mpi_run(int np, const char *name, const char *flags) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, MPIRUN " -np %d " MPI_TRAIN " --quiet --runs-dir " RUNS " --force --run %s %s > "
             RUNS "/%s.out 2> " RUNS "/%s.err", np, name, flags, name, name);
    return sh_status(cmd);
}

/* The same, reporting a failure (exit code, stderr) when it does not succeed. */
static int mpi_train(int np, const char *name, const char *flags) {
    int rc = mpi_run(np, name, flags);
    if (rc != 0) fprintf(stderr, "  mpirun -np %d ... --run %s %s: exit code %d, see " RUNS "/%s.err\n", np, name,
                         flags, rc, name);
    return rc;
}

/* Largest |a - b| over the parameters and optimizer state (BatchNorm's running statistics
 * and counters left out), INFINITY if the files do not match up. */
static double max_param_diff(const char *a_path, const char *b_path) {
    StFile a, b;
    char err[ERR_LEN];
    if (st_read(a_path, &a, err) != 0) { fprintf(stderr, "  %s\n", err); return INFINITY; }
    if (st_read(b_path, &b, err) != 0) { fprintf(stderr, "  %s\n", err); st_free(&a); return INFINITY; }
    double worst = 0;
    for (int i = 0; i < a.n_tensors && worst < INFINITY; i++) {
        const StTensor *ta = &a.tensors[i], *tb = st_find(&b, ta->name);
        if (strstr(ta->name, "running_") || strstr(ta->name, "num_batches")) continue;
        if (!tb || ta->dtype != ST_F32 || tb->dtype != ST_F32) { worst = INFINITY; break; }
        long n = 1;
        for (int d = 0; d < ta->ndim; d++) n *= ta->shape[d];
        for (long k = 0; k < n; k++) {
            double d = fabs((double)ta->data[k] - tb->data[k]);
            if (!(d <= worst)) worst = d == d ? d : INFINITY;
        }
    }
    st_free(&a);
    st_free(&b);
    return worst;
}

/* The "step" metadata of a checkpoint, -1 if it does not read (CRC included). */
static long ckpt_step(const char *path) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(path, &f, err) != 0) { fprintf(stderr, "  %s\n", err); return -1; }
    const char *s = st_meta_get(&f, "step");
    long step = s ? atol(s) : -1;
    st_free(&f);
    return step;
}

#define EQUAL "--subset 4096 --val 0 --steps 100 --model 784-128-64-10 --opt adamw " \
              "--schedule constant --eval-every 0 --ckpt-every 0 --log-every 10 --threads 1"

/* 100 AdamW steps on 2 ranks against one process with the same global batch: the weights
 * agree within float summation (max |dw| < 1e-5; the figure is printed). Each rank's
 * gradient over its 32 examples, summed by the all-reduce, is what one process computes for
 * --batch 32 --accum 2, so that run is matched bit for bit. */
static void test_two_ranks_equal_one_process(void) {
    CHECK(train("one", EQUAL " --batch 64") == 0);
    CHECK(mpi_train(2, "two", EQUAL " --batch 64") == 0);
    double d = max_weight_diff(ckpt("one", "last.safetensors"), ckpt("two", "last.safetensors"));
    fprintf(stderr, "  max |dw| after 100 AdamW steps, 2 ranks against 1 process (batch 64): %.3g\n", d);
    CHECK(d < 1e-5);
    CHECK(train("accum", EQUAL " --batch 32 --accum 2") == 0);
    CHECK(max_weight_diff(ckpt("accum", "last.safetensors"), ckpt("two", "last.safetensors")) == 0);
    /* the log: the same steps, epochs and rates, losses within float summation */
    CHECK(sh("test \"$(cut -d, -f1-3 " RUNS "/one/log.csv)\" = \"$(cut -d, -f1-3 " RUNS "/two/log.csv)\"") == 0);
    CHECK(sh("paste -d, " RUNS "/one/log.csv " RUNS "/two/log.csv | awk -F, 'NR > 1 { d = $4 - $15; "
             "if (d < 0) d = -d; if (d > 1e-5 * $4) bad = 1 } END { exit bad }'") == 0);
    CHECK_NEAR(summary_value("two", "test_acc"), summary_value("one", "test_acc"), 1e-3);
    /* 3 ranks of a batch of 66: one process accumulating the three pieces of 22 (the three
     * sums may be added in another order) */
    CHECK(train("accum3", EQUAL " --batch 22 --accum 3") == 0);
    CHECK(mpi_train(3, "three", EQUAL " --batch 66") == 0);
    CHECK(max_weight_diff(ckpt("accum3", "last.safetensors"), ckpt("three", "last.safetensors")) < 1e-6);
    /* one report on stdout, progress with the number of ranks on stderr */
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " --runs-dir " RUNS " --force --run progress --subset 512 "
             "--val 0 --steps 20 --model 784-16-10 --threads 1 > " RUNS "/progress.out 2> " RUNS "/progress.err") == 0);
    CHECK(count_in(RUNS "/progress.out", "\nrun " RUNS "/progress: 20 steps") == 1);
    CHECK(count_in(RUNS "/progress.err", "step 20/20 | ") == 1);
    CHECK(count_in(RUNS "/progress.err", " samples/s | 2 ranks | ETA") == 20);   /* rank 0's lines */
}

/* BatchNorm normalises each rank's piece on its own (DDP without SyncBatchNorm): 2 ranks of
 * batch 64 take the steps of one process with --batch 32 --accum 2, bit for bit. The running
 * statistics are rank 0's: updated once per step, and the final evaluation uses them. */
static void test_batchnorm_per_rank(void) {
    const char *bn = "--subset 2048 --val 256 --steps 60 --model 784-64-32-10 --norm batch "
                     "--schedule constant --eval-every 30 --ckpt-every 0 --threads 1";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --batch 32 --accum 2", bn);
    CHECK(train("bn1", flags) == 0);
    snprintf(flags, sizeof flags, "%s --batch 64", bn);
    CHECK(mpi_train(2, "bn2", flags) == 0);
    CHECK(max_param_diff(ckpt("bn1", "last.safetensors"), ckpt("bn2", "last.safetensors")) == 0);
    StFile f;
    char err[ERR_LEN];
    if (st_read(ckpt("bn2", "last.safetensors"), &f, err) == 0) {
        const StTensor *count = st_find(&f, "1.num_batches_tracked");
        CHECK(count && count->i64[0] == 60);
        st_free(&f);
    } else {
        CHECK(!"bn2/last.safetensors reads");
    }
    CHECK(sh("./train eval --ckpt " RUNS "/bn2/last.safetensors > " RUNS "/bn2.eval") == 0);
    char line[64];
    snprintf(line, sizeof line, "test_loss %.6f", summary_value("bn2", "test_loss"));
    CHECK(count_in(RUNS "/bn2.eval", line) == 1);
    /* a piece of one example has no batch statistics */
    snprintf(flags, sizeof flags, "%s --batch 2", bn);
    CHECK(mpi_run(2, "bn_tiny", flags) == 2);
    CHECK(count_in(RUNS "/bn_tiny.err", "--norm batch: some training micro-batches would hold a single example") == 1);
}

#define RESUME "--subset 2048 --val 256 --batch 64 --model 784-64-10 --schedule constant " \
               "--eval-every 15 --log-every 5 --threads 1"

/* The checkpoint does not depend on N: 2 ranks then 1 process, or 1 then 2, end where one
 * process ends (within float summation); 2 then 2 ends where 2 ranks end, bit for bit, with
 * dropout (its streams are derived from the run's). */
static void test_resume_with_other_n(void) {
    CHECK(train("r1", RESUME " --steps 60") == 0);
    CHECK(mpi_train(2, "r21", RESUME " --steps 30") == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/r21 --steps 60 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("r1", "last.safetensors"), ckpt("r21", "last.safetensors")) < 1e-5);
    CHECK(train("r12", RESUME " --steps 30") == 0);
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " --quiet --resume " RUNS "/r12 --steps 60 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("r1", "last.safetensors"), ckpt("r12", "last.safetensors")) < 1e-5);
    CHECK(sh("test \"$(cut -d, -f1-3 " RUNS "/r1/log.csv)\" = \"$(cut -d, -f1-3 " RUNS "/r12/log.csv)\"") == 0);
    CHECK(mpi_train(2, "d22", RESUME " --steps 60 --dropout 0.2") == 0);
    CHECK(mpi_train(2, "d2h", RESUME " --steps 30 --dropout 0.2") == 0);
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " --quiet --resume " RUNS "/d2h --steps 60 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("d22", "last.safetensors"), ckpt("d2h", "last.safetensors")) == 0);
    CHECK(max_weight_diff(ckpt("d22", "best.safetensors"), ckpt("d2h", "best.safetensors")) == 0);
    CHECK(sh("test \"$(cut -d, -f1-8 " RUNS "/d22/log.csv)\" = \"$(cut -d, -f1-8 " RUNS "/d2h/log.csv)\"") == 0);
    /* dropout draws different masks on each rank: a run is not that of one process */
    CHECK(train("d1", RESUME " --steps 60 --dropout 0.2") == 0);
    CHECK(max_weight_diff(ckpt("d1", "last.safetensors"), ckpt("d22", "last.safetensors")) > 1e-4);
}

/* Optimizers that re-evaluate the batch inside a step (L-BFGS's closure with its line
 * search) or average the weights (EMA, with early stopping restoring the best averaged
 * model) train on 2 ranks what one process trains; Sophia, whose sampled labels come from
 * one stream in the group's order, is refused. */
static void test_closure_and_averaging(void) {
#define LB "--subset 1024 --val 0 --steps 8 --model 784-32-10 --opt lbfgs " \
           "--line-search strong_wolfe --max-iter 5 --eval-every 0 --ckpt-every 0 --threads 1"
    /* every evaluation of the closure is all-reduced: bit for bit one process accumulating
     * the two pieces */
    CHECK(train("lb1", LB " --batch 32 --accum 2") == 0);
    CHECK(mpi_train(2, "lb2", LB " --batch 64") == 0);
    CHECK(max_weight_diff(ckpt("lb1", "last.safetensors"), ckpt("lb2", "last.safetensors")) == 0);
    /* clipping and the instruments act on the all-reduced gradient: the same log as one
     * process accumulating the pieces (per-example noise sums added over the ranks) */
#define INS "--subset 1024 --val 0 --steps 20 --model 784-32-10 --clip 0.5 --log-noise " \
            "--log-curvature 10 --examples 256 --eval-every 0 --log-every 5 --threads 1"
    CHECK(train("ins1", INS " --batch 32 --accum 2") == 0);
    CHECK(mpi_train(2, "ins2", INS " --batch 64") == 0);
    CHECK(max_weight_diff(ckpt("ins1", "last.safetensors"), ckpt("ins2", "last.safetensors")) == 0);
    CHECK(sh("test \"$(cut -d, -f1-5 " RUNS "/ins1/log.csv)\" = \"$(cut -d, -f1-5 " RUNS "/ins2/log.csv)\"") == 0);
    CHECK(sh("paste -d, " RUNS "/ins1/log.csv " RUNS "/ins2/log.csv | awk -F, 'NR == 1 { n = NF / 2; "
             "for (i = 1; i <= n; i++) if ($i == \"noise_scale\" || $i == \"sharpness\") c[i] = 1; next } "
             "{ for (i in c) { if (($i == \"\") != ($(i + n) == \"\")) bad = 1; d = $i - $(i + n); if (d < 0) d = -d; "
             "if (d > 1e-4 * ($i < 0 ? -$i : $i) + 1e-9) bad = 1; seen++ } } END { exit bad || !seen }'") == 0);
#define EMA "--subset 1024 --val 256 --steps 40 --batch 64 --model 784-32-10 --ema 0.9 " \
            "--eval-every 10 --early-stop 1 --threads 1"
    CHECK(train("ema1", EMA) == 0);
    CHECK(mpi_train(2, "ema2", EMA) == 0);
    CHECK_NEAR(summary_value("ema2", "test_acc"), summary_value("ema1", "test_acc"), 2e-3);
    CHECK(mpi_run(2, "sophia", "--subset 512 --val 0 --steps 2 --model 784-16-10 --opt sophia --threads 1") == 2);
    CHECK(count_in(RUNS "/sophia.err", "train: --opt sophia: not under more than one MPI rank") == 1);
}

/* Ranks that apply different updates (here: different --lr, through mpirun's MPMD syntax)
 * are caught by the checksum at the first --ckpt-every step: exit 1, one message, and no
 * checkpoint of the diverged weights. */
static void test_weights_checksum(void) {
    const char *f = "--quiet --runs-dir " RUNS " --force --run diverge --subset 1024 --val 0 --steps 30 "
                    "--model 784-32-10 --ckpt-every 5 --threads 1";
    CHECK(sh(MPIRUN " -np 1 " MPI_TRAIN " %s --lr 1e-3 : -np 1 " MPI_TRAIN " %s --lr 2e-3 > /dev/null 2> "
             RUNS "/diverge.err; test $? = 1", f, f) == 0);
    CHECK(count_in(RUNS "/diverge.err", "train: the weights differ between the ranks at step 5 (checksum ") == 1);
    CHECK(ckpt_step(RUNS "/diverge/last.safetensors") == 0);   /* the initial state only */
    /* different seeds: refused before the first step */
    CHECK(sh(MPIRUN " -np 1 " MPI_TRAIN " %s --seed 1 : -np 1 " MPI_TRAIN " %s --seed 2 > /dev/null 2> "
             RUNS "/seeds.err; test $? = 1", f, f) == 0);
    CHECK(count_in(RUNS "/seeds.err", "train: the ranks start from different weights") == 1);
}

#define LONG "--runs-dir " RUNS " --force --subset 2048 --val 256 --model 784-64-10 --batch 32 " \
             "--steps 100000 --ckpt-every 20 --eval-every 100 --threads 1 --quiet"

/* Starts a long 2-rank run NAME in the background, waits for its first checkpoint, then runs
 * ACTION (a shell command; $pid is mpirun, $r1 one of its ranks) and waits for mpirun, at
 * most 120 s; its exit code goes to RUNS/NAME.rc, its stderr to RUNS/NAME.err. */
static int disturb(const char *name, const char *extra, const char *action) {
    return sh("rm -rf " RUNS "/%s; (" MPIRUN_BARE " -np 2 " MPI_TRAIN " " LONG " --run %s %s > /dev/null 2> " RUNS
              "/%s.err & pid=$!; n=0; while [ ! -s " RUNS "/%s/last.safetensors ] && [ $n -lt 1200 ]; do "
              "sleep 0.1; n=$((n + 1)); done; sleep 0.5; r1=$(pgrep -P $pid | tail -n 1); %s; "
              "n=0; while kill -0 $pid 2>/dev/null && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done; "
              "kill -0 $pid 2>/dev/null && kill -9 $pid $r1; wait $pid; echo $? > " RUNS "/%s.rc; "
              "kill -9 $r1 2>/dev/null; true)", name, name, extra, name, name, action, name);
}

static int rc_of(const char *name) {
    char path[128], err[ERR_LEN];
    snprintf(path, sizeof path, RUNS "/%s.rc", name);
    char *text = read_file(path, NULL, err);
    int rc = text ? atoi(text) : -1;
    free(text);
    return rc;
}

/* Resumes run NAME for 20 more steps in one process: its checkpoint is intact. */
static int resumes(const char *name) {
    long step = ckpt_step(ckpt(name, "last.safetensors"));
    return step > 0 && sh(TRAIN " --quiet --resume " RUNS "/%s --steps %ld > /dev/null", name, step + 20) == 0 &&
           ckpt_step(ckpt(name, "last.safetensors")) == step + 20;
}

/* A rank killed with SIGKILL: mpirun ends the other and says which rank died; a rank that
 * hangs (SIGSTOP): the other stops after --mpi-timeout with its own message. Either way
 * nothing is left running and the last checkpoint resumes. */
static void test_dead_or_hung_rank(void) {
    CHECK(disturb("killed", "", "kill -9 $r1") == 0);
    CHECK(rc_of("killed") != 0 && rc_of("killed") != 124);
    CHECK(count_in(RUNS "/killed.err", "exited on signal 9") == 1);
    CHECK(resumes("killed"));
    CHECK(disturb("hung", "--mpi-timeout 2", "kill -STOP $r1") == 0);
    CHECK(rc_of("hung") == 1);
    CHECK(count_in(RUNS "/hung.err", "train: no answer from the other ranks for 2 s (") == 1);
    /* (the stopped rank, continued by mpirun to be ended, may say it too) */
    CHECK(count_in(RUNS "/hung.err", "a rank has died or hangs; stopping") >= 1);
    CHECK(resumes("hung"));
}

/* SIGTERM to mpirun (Ctrl-C reaches the ranks the same way: mpirun sends them SIGTERM): the
 * ranks agree on the step to stop after, rank 0 saves once and reports, and a resume on 2
 * ranks ends with the bits of a run never interrupted. (Open MPI waits
 * odls_base_sigkill_timeout seconds, 1 by default, before it passes SIGTERM on, and as long
 * again before SIGKILL; 5 gives a busy machine time.) */
static void test_sigterm_to_mpirun(void) {
    const char *flags = "--subset 2048 --val 256 --model 784-64-10 --batch 32 --ckpt-every 20 --eval-every 100 "
                        "--dropout 0.1 --schedule constant --threads 1";
    CHECK(sh("rm -rf " RUNS "/term; (OMPI_MCA_odls_base_sigkill_timeout=5 " MPIRUN_BARE " -np 2 " MPI_TRAIN
             " --quiet --runs-dir " RUNS " --force --run term %s --steps 100000 > /dev/null 2> " RUNS "/term.err & "
             "pid=$!; while [ ! -s " RUNS "/term/last.safetensors ]; do sleep 0.05; done; kill -TERM $pid; "
             "wait $pid; echo $? > " RUNS "/term.rc)", flags) == 0);
    CHECK(rc_of("term") != 0);
    char stopped[32] = "", msg[128], more[300];
    long steps = (long)summary_field("term", "steps", NULL, 0);
    summary_field("term", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "interrupted");
    CHECK(steps > 0 && ckpt_step(ckpt("term", "last.safetensors")) == steps);
    snprintf(msg, sizeof msg, "train: interrupted at step %ld: state saved", steps);
    CHECK(count_in(RUNS "/term.err", msg) == 1);
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " --quiet --resume " RUNS "/term --steps %ld > /dev/null", steps + 30) == 0);
    snprintf(more, sizeof more, "%s --steps %ld", flags, steps + 30);
    CHECK(mpi_train(2, "whole", more) == 0);
    CHECK(max_weight_diff(ckpt("whole", "last.safetensors"), ckpt("term", "last.safetensors")) == 0);
}

/* What cannot run on several ranks is refused before any work, with one message. */
static void test_refusals(void) {
    const char *f = "--val 0 --steps 5 --model 784-16-10 --threads 1";
    char flags[256];
    snprintf(flags, sizeof flags, "%s --subset 1000 --batch 63", f);
    CHECK(mpi_run(2, "b63", flags) == 2);
    CHECK(count_in(RUNS "/b63.err", "train: --batch: 63 examples per micro-batch do not divide among 2 ranks "
                   "(each rank takes an equal piece): use a multiple of 2 such as 62 or 64") == 1);
    CHECK(sh("test ! -e " RUNS "/b63") == 0);
    snprintf(flags, sizeof flags, "%s --batch full --subset 1001", f);
    CHECK(mpi_run(2, "bfull", flags) == 2);
    CHECK(count_in(RUNS "/bfull.err", "train: --batch full: the 1001 training examples do not divide among 2 ranks") == 1);
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " schedule --steps 10 > /dev/null 2> " RUNS "/sched.err; test $? = 2") == 0);
    CHECK(count_in(RUNS "/sched.err", "train: schedule: runs in one process; start it without mpirun") == 1);
    CHECK(sh(MPIRUN " -np 2 ./train %s > /dev/null 2> " RUNS "/plain.err; test $? = 2", f) == 0);
    CHECK(count_in(RUNS "/plain.err", "train: this train was built without MPI but started as one of 2 ranks") == 1);
    CHECK(sh("./train --mpi-timeout 5 %s 2> " RUNS "/plain_flag.err; test $? = 2", f) == 0);
    CHECK(count_in(RUNS "/plain_flag.err", "train: --mpi-timeout: this train was built without MPI") == 1);
    CHECK(sh("./train --version | grep -q 'without MPI' && " MPI_TRAIN " --version | grep -q '(MPI: Open MPI v'") == 0);
}

/* train eval on 3 ranks: the test set split and the sums reduced give one process's figures. */
static void test_eval_split(void) {
    CHECK(sh("./train eval --ckpt " RUNS "/one/last.safetensors > " RUNS "/eval1.out") == 0);
    CHECK(sh(MPIRUN " -np 3 " MPI_TRAIN " eval --ckpt " RUNS "/one/last.safetensors > " RUNS "/eval3.out") == 0);
    CHECK(sh("cmp -s " RUNS "/eval1.out " RUNS "/eval3.out") == 0);
}

/* A sweep under mpirun: run k on rank k mod 2, each run a single process (its weights are a
 * plain run's, bit for bit), rank 0 prints the comparison; a failed run stops all ranks. */
static void test_sweep_over_ranks(void) {
    const char *f = "--opt sgd,adamw --lr 0.05,0.001 --subset 512 --val 128 --steps 30 --model 784-16-10";
    CHECK(sh(MPIRUN " -np 2 --tag-output " MPI_TRAIN " sweep --runs-dir " RUNS " --run sw --force %s > "
             RUNS "/sw.out 2> " RUNS "/sw.err", f) == 0);
    CHECK(count_in(RUNS "/sw.out", "[1,0]<stdout>:sweep " RUNS "/sw: 4 runs") == 1);
    CHECK(count_in(RUNS "/sw.out", "<stdout>:opt-") == 4);
    CHECK(count_in(RUNS "/sw.out", "[1,1]<stdout>") == 0);
    CHECK(count_in(RUNS "/sw.err", "[1,0]<stderr>:sweep " RUNS "/sw: run 1/4: opt-sgd_lr-0.05") == 1);
    CHECK(count_in(RUNS "/sw.err", "[1,1]<stderr>:sweep " RUNS "/sw: run 2/4: opt-sgd_lr-0.001") == 1);
    CHECK(count_in(RUNS "/sw.err", "[1,0]<stderr>:sweep " RUNS "/sw: run 3/4: opt-adamw_lr-0.05") == 1);
    CHECK(count_in(RUNS "/sw.err", "[1,1]<stderr>:sweep " RUNS "/sw: run 4/4: opt-adamw_lr-0.001") == 1);
    CHECK(sh("test -s " RUNS "/sw/compare.svg") == 0);
    CHECK(train("sw_plain", "--opt sgd --lr 0.001 --subset 512 --val 128 --steps 30 --model 784-16-10") == 0);
    CHECK(max_weight_diff(ckpt("sw_plain", "last.safetensors"), ckpt("sw/opt-sgd_lr-0.001", "last.safetensors")) == 0);
    /* run 2 (rank 1) diverges: every rank stops after the round, rank 0 reports it */
    CHECK(sh(MPIRUN " -np 2 " MPI_TRAIN " sweep --quiet --runs-dir " RUNS " --run swfail --force --opt sgd "
             "--lr 0.01,1e30 --subset 256 --val 0 --steps 5 --model 784-16-10 > /dev/null 2> " RUNS "/swfail.err; "
             "test $? = 1") == 0);
    CHECK(count_in(RUNS "/swfail.err", "train: sweep: run lr-1e30 failed (exit code 1); stopping the sweep") == 1);
}

int main(void) {
    if (getenv("TRAIN_BIN")) {
        printf("test_mpi: skipped: the suite runs against %s; the MPI tests run in make test\n", getenv("TRAIN_BIN"));
        return test_summary();
    }
    if (system("command -v mpicc > /dev/null && command -v mpirun > /dev/null") != 0) {
        printf("test_mpi: skipped: Open MPI is not installed (sh scripts/deps.sh mpi installs it)\n");
        return test_summary();
    }
    if (sh("mkdir -p " RUNS " && make -s build-mpi/train > " RUNS "/build.log 2>&1") != 0) {
        fprintf(stderr, "  building build-mpi/train failed, see " RUNS "/build.log\n");
        return 1;
    }
    RUN(test_two_ranks_equal_one_process);
    RUN(test_batchnorm_per_rank);
    RUN(test_resume_with_other_n);
    RUN(test_closure_and_averaging);
    RUN(test_weights_checksum);
    RUN(test_dead_or_hung_rank);
    RUN(test_sigterm_to_mpirun);
    RUN(test_refusals);
    RUN(test_eval_split);
    RUN(test_sweep_over_ranks);
    return test_summary();
}

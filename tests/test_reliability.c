/* What the Reliability section of README promises at the edges of a run, one test per window:
 * a kill before the first periodic checkpoint or while summary.json or the cut of log.csv is
 * written, full disks, SIGTERM at the last step, damaged or hostile checkpoints, models and
 * datasets too big for the machine, two processes on one run, a hand-edited config.json,
 * and a model of 22 million parameters resumed. The faults are put in place by the shim
 * tests/fault_inject.c; test_kill.c kills a run at every operation. */
#include "test.h"

#define RUNS "tests/tmp/reliability"
#include "e2e.h"
#include "fault.h"
#include "data/dataset.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zlib.h>

/* 12 steps of 784-16-10 on 500 images: an evaluation (best.safetensors) and a checkpoint
 * every 4 steps, a log row every 2. */
#define SHORT "--data " TINY " --val 100 --model 784-16-10 --steps 12 --ckpt-every 4 --log-every 2 " \
              "--eval-every 4 --threads 1 --runs-dir " RUNS

static char *slurp_text(const char *path) {
    char err[ERR_LEN];
    return read_file(path, NULL, err);
}

/* Copies run a to run b (a fresh directory). */
static int copy_run(const char *a, const char *b) {
    return sh("rm -rf " RUNS "/%s && cp -r " RUNS "/%s " RUNS "/%s", b, a, b);
}

/* Writes src's tensors and metadata to dst with metadata `key` set to value (the writer adds
 * a correct checksum: what is tested is the field, not the CRC). */
static int rewrite_meta(const char *src, const char *dst, const char *key, const char *value) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(src, &f, err) != 0) { fprintf(stderr, "  %s\n", err); return -1; }
    StMeta *meta = xcalloc((size_t)f.n_meta + 1, sizeof(StMeta));
    int n = 0, found = 0;
    for (int i = 0; i < f.n_meta; i++) {
        if (!strcmp(f.meta[i].key, "crc32")) continue;
        meta[n] = f.meta[i];
        if (!strcmp(f.meta[i].key, key)) { meta[n].value = (char *)value; found = 1; }
        n++;
    }
    if (!found) meta[n++] = (StMeta){(char *)key, (char *)value};
    int rc = st_write(dst, f.tensors, f.n_tensors, meta, n, err);
    if (rc) fprintf(stderr, "  %s\n", err);
    free(meta);
    st_free(&f);
    return rc;
}

/* Takes the writer's `"crc32":"xxxxxxxx"` member out of a file, as a hand edit would (its 18
 * bytes become `"x":""` and spaces: the header stays valid JSON of the same length). */
static int strip_crc(const char *src, const char *dst) {
    size_t n;
    char err[ERR_LEN];
    char *raw = read_file(src, &n, err);
    char *member = raw ? memmem(raw, n, "\"crc32\":\"", 9) : NULL;
    int rc = -1;
    if (member) {
        memcpy(member, "\"x\":\"\"            ", 18);
        FILE *f = fopen(dst, "wb");
        rc = f && fwrite(raw, 1, n, f) == n ? 0 : -1;
        if (f) fclose(f);
    }
    free(raw);
    return rc;
}

/* ---- windows where a run was lost */

/* Killed before the first periodic checkpoint (mid-write of step 4's rows, before the
 * checkpoint of step 4): the directory holds the initial state of step 0 and resumes to the
 * uninterrupted run's bits. The NaN guard names the state it leaves behind. */
static void test_resumable_before_the_first_checkpoint(void) {
    sh("rm -rf " RUNS "/early");
    CHECK(faulty("FAULT_FILE=log.csv FAULT_OPS=write FAULT_AT=2", SHORT " --run early") == -1);
    CHECK(trained("--quiet --resume " RUNS "/early") == 0);
    CHECK(same_run("ref", "early"));
    CHECK(trained("--quiet --data " TINY " --val 100 --model 784-16-10 --steps 12 --ckpt-every 100 --threads 1 "
                  "--runs-dir " RUNS " --run nan --force --opt sgd --lr 1e36 --schedule constant") == 1);
    CHECK(says("last.err", "non-finite loss at step 2"));
    CHECK(says("last.err", "nan/last.safetensors holds the state of step 0"));
    CHECK(trained("inspect " RUNS "/nan") == 0);
    CHECK(says("last.out", "\nstep       0\n"));
}

/* Killed while summary.json is written: the file is absent (never empty), and --resume redoes
 * the final evaluation, for a completed run and for an early-stopped one (with the best
 * weights); an emptied summary is redone too, a final one is not. */
static void test_lost_summary_is_redone(void) {
    sh("rm -rf " RUNS "/sum");
    CHECK(faulty("FAULT_FILE=summary.json FAULT_OPS=write FAULT_AT=1", SHORT " --run sum") == -1);
    CHECK(!is_file(ckpt("sum", "summary.json")));
    CHECK(trained("--quiet --resume " RUNS "/sum") == 0);
    CHECK(same_run("ref", "sum"));
    CHECK(sh_status("ls -a " RUNS "/sum | grep -q tmp") == 1);
    CHECK(sh(": > " RUNS "/sum/summary.json") == 0);
    CHECK(trained("--quiet --resume " RUNS "/sum") == 0);
    CHECK(same_run("ref", "sum"));
    CHECK(trained("--quiet --resume " RUNS "/sum") == 2);
    CHECK(says("last.err", "the run has done 12 of 12 steps already"));

    const char *early = "--data " TINY " --val 100 --model 784-16-10 --opt sgd --lr 0.3 --momentum 0.9 "
                        "--schedule constant --steps 3000 --eval-every 10 --early-stop 2 --threads 1 --runs-dir " RUNS;
    CHECK(trained("--quiet %s --run es --force", early) == 0);
    char stopped[32] = "";
    summary_field("es", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "early-stop");
    sh("rm -rf " RUNS "/es2");
    CHECK(faulty("FAULT_FILE=summary.json FAULT_OPS=write FAULT_AT=1", "%s --run es2", early) == -1);
    CHECK(trained("--quiet --resume " RUNS "/es2") == 0);
    CHECK(same_run("es", "es2"));
}

/* A resume cuts log.csv at its checkpoint's row with one ftruncate: killed right there, the
 * log is whole, and the next resume ends with the uninterrupted run's log and bits. */
static void test_log_cut_survives_a_kill(void) {
    sh("rm -rf " RUNS "/cut");
    /* killed at step 8's checkpoint rename: the log has rows to step 8, last.safetensors step 4 */
    CHECK(faulty("FAULT_FILE=last.safetensors FAULT_OPS=rename FAULT_AT=3", SHORT " --run cut") == -1);
    CHECK(sh("grep -q '^8,' " RUNS "/cut/log.csv") == 0);
    CHECK(faulty("FAULT_FILE=log.csv FAULT_OPS=write,ftruncate FAULT_AT=1", "--resume " RUNS "/cut") == -1);
    CHECK(trained("--quiet --resume " RUNS "/cut") == 0);
    CHECK(same_run("ref", "cut"));
    CHECK(sh_status("grep -q warning " RUNS "/last.err") == 1);   /* config.json was not edited */
}

/* A full disk: the error names the file and says why (errno's text), the exit code is 1,
 * what was saved stands, and the run resumes to the same bits. */
static void test_write_errors_are_reported(void) {
    static const struct { const char *file; int at; } cases[] = {
        {"log.csv", 2}, {"summary.json", 1}, {"last.safetensors", 20}, {"config.json", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char env[128], want[256];
        snprintf(env, sizeof env, "FAULT_FILE=%s FAULT_OPS=write FAULT_ACTION=enospc FAULT_AT=%d",
                 cases[i].file, cases[i].at);
        sh("rm -rf " RUNS "/full");
        CHECK(faulty(env, SHORT " --run full") == 1);
        snprintf(want, sizeof want, "%s: write failed: No space left on device", cases[i].file);
        CHECK(says("last.err", want));
        CHECK(sh_status("ls -a " RUNS " $(test -d " RUNS "/full && echo " RUNS "/full) | grep -q '\\.tmp\\.'") == 1);
        if (is_dir(RUNS "/full")) {
            CHECK(trained("--quiet --resume " RUNS "/full") == 0);
            CHECK(same_run("ref", "full"));
        }
    }
    /* the report is printed although summary.json could not be written */
    CHECK(faulty("FAULT_FILE=summary.json FAULT_OPS=write FAULT_ACTION=enospc FAULT_AT=1", SHORT " --run full --force") == 1);
    CHECK(says("last.out", "run " RUNS "/full: 12 steps"));
    /* a plot that cannot be written: said, exit 1, and the summary is written all the same */
    CHECK(faulty("FAULT_FILE=loss.svg FAULT_OPS=write FAULT_ACTION=enospc FAULT_AT=1", SHORT " --run full --force") == 1);
    CHECK(says("last.err", "loss.svg: write failed: No space left on device"));
    CHECK(summary_value("full", "steps") == 12);
    /* and stdout */
    CHECK(sh_status(TRAIN " --version > /dev/full 2> " RUNS "/last.err") == 1);
    CHECK(says("last.err", "train: stdout: No space left on device"));
}

/* SIGTERM during the last step: the run is complete, and says so, once: exit 0, "completed",
 * no "continue with --resume" (which would refuse). */
static void test_sigterm_at_the_last_step(void) {
    const char *flags = "--data " TINY " --val 100 --model 784-16-10 --steps 12 --ckpt-every 100 --eval-every 0 "
                        "--threads 1 --runs-dir " RUNS;
    CHECK(trained("--quiet %s --run last-ref --force", flags) == 0);
    sh("rm -rf " RUNS "/last");
    /* the only evaluation in the loop is the last step's: its best.safetensors is renamed into
     * place during that step */
    CHECK(faulty("FAULT_FILE=best.safetensors FAULT_OPS=rename FAULT_ACTION=term FAULT_AT=1", "%s --run last", flags) == 0);
    CHECK(sh_status("grep -q interrupted " RUNS "/last.err") == 1);
    char stopped[32] = "";
    summary_field("last", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "completed");
    CHECK(same_run("last-ref", "last"));
    CHECK(trained("--quiet --resume " RUNS "/last") == 2);
}

/* SIGTERM while the initial checkpoint is written (the moment the run directory appears):
 * the run stops after its first step, saved, with the message, and resumes to the bits of
 * an uninterrupted run (a signal there used to end the process half set up). */
static void test_sigterm_at_the_start(void) {
    const char *flags = "--data " TINY " --val 100 --model 784-16-10 --steps 12 --ckpt-every 100 --eval-every 0 "
                        "--threads 1 --runs-dir " RUNS;
    CHECK(trained("--quiet %s --run start-ref --force", flags) == 0);
    sh("rm -rf " RUNS "/start");
    CHECK(faulty("FAULT_FILE=last.safetensors FAULT_OPS=rename FAULT_ACTION=term FAULT_AT=1", "%s --run start", flags) == 128 + 15);
    CHECK(says("last.err", "interrupted at step 1: state saved"));
    char stopped[32] = "";
    summary_field("start", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "interrupted");
    CHECK(trained("--quiet --resume " RUNS "/start") == 0);
    CHECK(same_run("start-ref", "start"));
}

/* ---- hostile or damaged resume state */

/* The checksum covers the metadata, and files train wrote must have it; weights from
 * elsewhere (no training state, no checksum) are still fine for --init, inspect and eval. */
static void test_checksum_covers_the_metadata(void) {
    CHECK(copy_run("ref", "meta") == 0);
    char err[ERR_LEN];
    size_t n;
    char *raw = read_file(ckpt("meta", "last.safetensors"), &n, err);
    char *step = raw ? memmem(raw, n, "\"step\":\"12\"", 11) : NULL;
    CHECK(step != NULL);
    if (step) {
        step[9] = '1';   /* "12" -> "11": the same length, valid JSON */
        FILE *f = fopen(ckpt("meta", "last.safetensors"), "wb");
        CHECK(f && fwrite(raw, 1, n, f) == n);
        if (f) fclose(f);
    }
    free(raw);
    CHECK(trained("--quiet --resume " RUNS "/meta --steps 20") == 1);
    CHECK(says("last.err", "last.safetensors: CRC32 mismatch (file corrupt)"));

    CHECK(strip_crc(ckpt("ref", "last.safetensors"), ckpt("meta", "last.safetensors")) == 0);
    CHECK(trained("--quiet --resume " RUNS "/meta --steps 20") == 1);
    CHECK(says("last.err", "no crc32 in its metadata, which every file train writes has"));
    CHECK(trained("eval --ckpt " RUNS "/meta/last.safetensors") == 1);
    CHECK(trained("inspect " RUNS "/meta") == 1);
    CHECK(trained("--quiet " SHORT " --run init --force --init " RUNS "/meta/last.safetensors") == 1);
    CHECK(trained("export --onnx " RUNS "/meta.onnx --ckpt " RUNS "/meta/last.safetensors") == 1);
    CHECK(says("last.err", "no crc32 in its metadata"));
    CHECK(trained("predict --ckpt " RUNS "/meta/last.safetensors " RUNS "/none.png") == 1);
    CHECK(says("last.err", "no crc32 in its metadata"));

    /* weights alone, as PyTorch would save them: no metadata of train's, no checksum */
    StFile f;
    CHECK(st_read(ckpt("ref", "best.safetensors"), &f, err) == 0);
    CHECK(st_write(RUNS "/weights.safetensors", f.tensors, f.n_tensors, NULL, 0, err) == 0);
    st_free(&f);
    CHECK(strip_crc(RUNS "/weights.safetensors", RUNS "/torch.safetensors") == 0);
    CHECK(trained("inspect " RUNS "/torch.safetensors") == 0);
    CHECK(trained("--quiet " SHORT " --run init --force --init " RUNS "/torch.safetensors") == 0);
    CHECK(trained("eval --ckpt " RUNS "/torch.safetensors --data " TINY) == 2);
    CHECK(says("last.err", "(not written by train; PyTorch's save_file?): give --model"));
    CHECK(trained("eval --ckpt " RUNS "/torch.safetensors --data " TINY " --model 784-16-10") == 0);
    char *theirs = slurp_text(RUNS "/last.out");
    CHECK(trained("eval --ckpt " RUNS "/ref/best.safetensors") == 0);
    char *ours = slurp_text(RUNS "/last.out");
    /* the same loss and accuracy (the lines before the file's name) */
    char *cut_theirs = theirs ? strstr(theirs, "checkpoint ") : NULL, *cut_ours = ours ? strstr(ours, "checkpoint ") : NULL;
    if (cut_theirs) *cut_theirs = 0;
    if (cut_ours) *cut_ours = 0;
    CHECK(theirs && ours && strstr(theirs, "test_loss ") && !strcmp(theirs, ours));
    free(theirs);
    free(ours);
}

/* Every field of the training state is checked: each of these resumes is refused with the
 * field named, at once (a zero PCG increment used to spin forever). */
static void test_every_stored_field_is_validated(void) {
    StFile f;
    char err[ERR_LEN];
    CHECK(st_read(ckpt("ref", "last.safetensors"), &f, err) == 0);
    char sampler[200], zero_inc[200], huge_epoch[200];
    snprintf(sampler, sizeof sampler, "%s", st_meta_get(&f, "sampler") ? st_meta_get(&f, "sampler") : "");
    st_free(&f);
    char *w[6], buf[200];
    snprintf(buf, sizeof buf, "%s", sampler);
    int k = 0;
    for (char *p = strtok(buf, " "); p && k < 6; p = strtok(NULL, " ")) w[k++] = p;
    CHECK(k == 6);
    if (k != 6) return;
    snprintf(zero_inc, sizeof zero_inc, "%s 0 %s 0 %s %s", w[0], w[2], w[4], w[5]);
    snprintf(huge_epoch, sizeof huge_epoch, "%s %s %s %s 9223372036854775807 %s", w[0], w[1], w[2], w[3], w[5]);
    static const char *cases[][3] = {
        {"step", "1e3", "step '1e3' is not a whole number"},
        {"step", "10abc", "step '10abc' is not a whole number"},
        {"step", " 10", "step ' 10' is not a whole number"},
        {"sampler", NULL, "sampler '"},            /* a zero increment */
        {"sampler", NULL, "sampler '"},            /* an epoch of 2^63 - 1 */
        {"dropout_rng", "12345 6", "dropout_rng '12345 6' is not '<state> <odd inc>'"},
        {"best_step", "13", "best_step '13' is not a step in [-1, step]"},
        {"best_val_loss", "nan", "best_val_loss 'nan' is not a loss"},
        {"train_seconds", "-1", "train_seconds '-1' is not a finite number"},
        {"skipped", "13", "skipped '13' is not a count in [0, step]"},
        {"samples", "999999", "999999 samples in 12 steps of at most 64 examples"},
        {"stopped", "sideways", "stopped 'sideways' is not one of"},
        {"log_bytes", "-5", "log_bytes '-5' is not a whole number"},
        {"format", "train-checkpoint/9", "format 'train-checkpoint/9' is not one this program reads"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *value = cases[i][1] ? cases[i][1] : i == 3 ? zero_inc : huge_epoch;
        CHECK(copy_run("ref", "bad") == 0);
        CHECK(rewrite_meta(ckpt("ref", "last.safetensors"), ckpt("bad", "last.safetensors"), cases[i][0], value) == 0);
        CHECK(trained("--quiet --resume " RUNS "/bad --steps 20") == 1);
        CHECK(says("last.err", cases[i][2]));
    }
}

/* The reference run's stored config with another model. */
static int with_model(const char *model, char *out, size_t len) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(ckpt("ref", "best.safetensors"), &f, err) != 0) return -1;
    const char *stored = st_meta_get(&f, "config"), *at = stored ? strstr(stored, "\"784-16-10\"") : NULL;
    if (at) snprintf(out, len, "%.*s\"%s\"%s", (int)(at - stored), stored, model, at + 11);
    st_free(&f);
    return at ? 0 : -1;
}

/* The maximum resident memory of a command (run without a shell), in MB; its exit status in
 * *status. */
static double peak_mb(char *const argv[], int *status) {
    pid_t pid = fork();
    if (pid == 0) {
        freopen(RUNS "/last.err", "w", stderr);
        freopen("/dev/null", "w", stdout);
        execv(argv[0], argv);
        _exit(127);
    }
    struct rusage ru;
    if (pid < 0 || wait4(pid, status, 0, &ru) != pid) return -1;
    *status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    return ru.ru_maxrss / 1024.0;
}

/* A stored model too big for the machine is refused with the figures before anything is
 * allocated; a model whose tensors do not match the file's is refused before its memory is
 * touched (the peak memory stays far below the 900 MB it would take); IDX/gzip expansion is
 * bounded by the header's claim and the machine's memory; trailing junk after gzip data is
 * an error; a symlink loop is named as such. */
static void test_memory_and_input_bounds(void) {
    char config[2048] = "", err[ERR_LEN];
    CHECK(with_model("784-1000000-1000000-10", config, sizeof config) == 0);
    CHECK(rewrite_meta(ckpt("ref", "best.safetensors"), RUNS "/huge.safetensors", "config", config) == 0);
    CHECK(trained("eval --ckpt " RUNS "/huge.safetensors") == 1);
    CHECK(says("last.err", "--model 784-1000000-1000000-10: needs about 7.3 TiB of memory"));
    CHECK(says("last.err", "more than this machine's"));

    CHECK(with_model("784-60000-10", config, sizeof config) == 0);
    CHECK(rewrite_meta(ckpt("ref", "best.safetensors"), RUNS "/wide.safetensors", "config", config) == 0);
    const char *bin = getenv("TRAIN_BIN") ? getenv("TRAIN_BIN") : "./train";
    char *argv[] = {(char *)bin, "eval", "--ckpt", RUNS "/wide.safetensors", NULL};
    int status = 0;
    double mb = peak_mb(argv, &status);
    CHECK(status == 1);
    CHECK(says("last.err", "tensor '0.weight' has shape [16, 784], the model needs [60000, 784]"));
    CHECK(mb > 0 && mb < 300);
    if (!(mb < 300)) fprintf(stderr, "  peak memory %.0f MB\n", mb);

    /* a gzip IDX claiming 10^8 images of 1024x1024 (10^14 bytes) in 1 MB of zeros */
    gzFile gz = gzopen(RUNS "/claim.gz", "wb");
    unsigned char head[16] = {0, 0, 8, 3, 0x05, 0xf5, 0xe1, 0x00, 0, 0, 4, 0, 0, 0, 4, 0};
    static unsigned char zeros[1 << 20];
    CHECK(gz && gzwrite(gz, head, 16) == 16 && gzwrite(gz, zeros, sizeof zeros) == (int)sizeof zeros);
    if (gz) gzclose(gz);
    uint8_t *data = NULL;
    int dims[3], nd;
    CHECK(idx_read(RUNS "/claim.gz", 0x803, &data, dims, &nd, err) == -1);
    CHECK_CONTAINS(err, "its header claims 95.4 TiB of data, more than this machine's memory");

    /* trailing junk after a gzip stream; two gzip members are one stream */
    unsigned char idx[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
    gz = gzopen(RUNS "/labels.gz", "wb");
    CHECK(gz && gzwrite(gz, idx, 6) == 6);
    if (gz) gzclose(gz);
    gz = gzopen(RUNS "/tail.gz", "wb");
    CHECK(gz && gzwrite(gz, idx + 6, 5) == 5);
    if (gz) gzclose(gz);
    CHECK(sh("cat " RUNS "/labels.gz " RUNS "/tail.gz > " RUNS "/two.gz") == 0);
    CHECK(idx_read(RUNS "/two.gz", 0x801, &data, dims, &nd, err) == 0);
    CHECK(data && dims[0] == 3 && data[0] == 1 && data[2] == 3);
    free(data);
    CHECK(sh("cat " RUNS "/two.gz > " RUNS "/junk.gz && printf 'junk' >> " RUNS "/junk.gz") == 0);
    CHECK(idx_read(RUNS "/junk.gz", 0x801, &data, dims, &nd, err) == -1);
    CHECK_CONTAINS(err, "junk.gz: trailing data after the end of the gzip stream");

    /* symlink loops: a dataset directory, an IDX file in one, a run directory */
    CHECK(sh("cd " RUNS " && rm -rf loop-a loop-b loopdata && ln -s loop-b loop-a && ln -s loop-a loop-b && "
             "mkdir loopdata && cp tiny/* loopdata/ && rm loopdata/t10k-images-idx3-ubyte && "
             "ln -s t10k-images-idx3-ubyte loopdata/t10k-images-idx3-ubyte") == 0);
    CHECK(trained("eval --ckpt " RUNS "/ref/best.safetensors --data " RUNS "/loop-a") == 1);
    CHECK(says("last.err", "loop-a: Too many levels of symbolic links"));
    CHECK(trained("eval --ckpt " RUNS "/ref/best.safetensors --data " RUNS "/loopdata") == 1);
    CHECK(says("last.err", "t10k-images-idx3-ubyte: Too many levels of symbolic links"));
    CHECK(trained("--resume " RUNS "/loop-a") == 2);
    CHECK(says("last.err", "loop-a: Too many levels of symbolic links"));
}

/* The layer limits are in --help: 16 Linear layers in the sizes form, 63 layers in a list. */
static void test_layer_limits_documented(void) {
    CHECK(trained("--help") == 0);
    CHECK(says("last.out", "at most 16 Linear layers"));
    CHECK(says("last.out", "at most 63 layers"));
    CHECK(trained("--model 1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17-18") == 2);
    CHECK(says("last.err", "more than 16 layers"));
}

/* ---- big models: 784-8000-2000-10 (22.3 million parameters) with AdamW, whose state (two
 * tensors per parameter tensor) sits in the file body: 2 steps, train eval, resume to 3 steps,
 * equal to 3 steps in one go; the header stays small. */
static void test_big_model_resumes(void) {
    const char *big = "--data " TINY " --val 0 --subset 64 --batch 32 --model 784-8000-2000-10 --opt adamw "
                      "--schedule constant --ckpt-every 0 --eval-every 0 --runs-dir " RUNS;
    CHECK(trained("--quiet %s --steps 3 --run big3 --force", big) == 0);
    CHECK(trained("--quiet %s --steps 2 --run big --force", big) == 0);
    CHECK(trained("eval --ckpt " RUNS "/big/last.safetensors") == 0);
    char *out = slurp_text(RUNS "/last.out");
    double loss = -1;
    if (out && strstr(out, "test_loss ")) loss = atof(strstr(out, "test_loss ") + 10);
    free(out);
    CHECK_NEAR(loss, summary_value("big", "test_loss"), 5e-7);
    CHECK(trained("--quiet --resume " RUNS "/big --steps 3") == 0);
    CHECK(max_weight_diff(ckpt("big3", "last.safetensors"), ckpt("big", "last.safetensors")) == 0);
    StFile f;
    char err[ERR_LEN];
    CHECK(st_read(ckpt("big", "last.safetensors"), &f, err) == 0);
    const StTensor *m = st_find(&f, "optimizer.2.weight.exp_avg_sq");
    CHECK(m && m->ndim == 2 && m->shape[0] == 2000 && m->shape[1] == 8000);
    st_free(&f);
    CHECK(summary_value("big", "params") == 784.0 * 8000 + 8000 + 8000.0 * 2000 + 2000 + 2000 * 10 + 10);
    FILE *fp = fopen(ckpt("big", "last.safetensors"), "rb");
    unsigned char len8[8] = {0};
    CHECK(fp && fread(len8, 1, 8, fp) == 8);
    if (fp) fclose(fp);
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | len8[i];
    CHECK(header < 16384);
}

/* ---- two processes, one run */

/* Starts `TRAIN args` with env in the background; returns its pid (train's own). */
static pid_t spawn(const char *env, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec env FAULT_DIR=" RUNS " %s " PRELOAD " " TRAIN " --quiet %s > " RUNS
             "/spawn.out 2> " RUNS "/spawn.err", env, args);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* A second --resume of a run in progress, or a --force over it, is refused with the first
 * process's pid; of two fresh runs that pass the name check at the same time, the second to
 * finish setting up is refused and the first's directory is untouched. */
static void test_one_process_per_run(void) {
    sh("rm -rf " RUNS "/busy");
    pid_t pid = spawn("", "--data " TINY " --val 0 --model 784-16-10 --steps 100000000 --ckpt-every 0 "
                          "--threads 1 --runs-dir " RUNS " --run busy");
    for (int i = 0; i < 600 && !is_file(ckpt("busy", "last.safetensors")); i++) usleep(50000);
    char want[64];
    snprintf(want, sizeof want, "in use by process %ld", (long)pid);
    CHECK(trained("--quiet --resume " RUNS "/busy") == 1);
    CHECK(says("last.err", want));
    CHECK(trained("--quiet " SHORT " --run busy --force") == 2);
    CHECK(says("last.err", want));
    kill(pid, SIGTERM);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 143);

    /* the race: the first run stops right after its name check (at its staging directory) */
    sh("rm -rf " RUNS "/race");
    pid = spawn("FAULT_FILE=.race.tmp. FAULT_OPS=mkdir FAULT_ACTION=stop FAULT_AT=1", SHORT " --run race");
    CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
    CHECK(trained("--quiet " SHORT " --run race") == 0);
    kill(pid, SIGCONT);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK(says("spawn.err", "race: run directory exists (another process created it while this run started"));
    CHECK(same_run("ref", "race"));
    CHECK(sh_status("ls -a " RUNS " | grep -q '^\\.race'") == 1);
}

/* A hand-edited config.json: the checkpoint's options are used, a warning names what differs,
 * and config.json is rewritten from the checkpoint. */
static void test_edited_config_is_named(void) {
    sh("rm -rf " RUNS "/cfg");
    CHECK(faulty("FAULT_FILE=last.safetensors FAULT_OPS=rename FAULT_AT=3", SHORT " --run cfg") == -1);
    CHECK(sh("sed -i 's/\"lr\": 0.001/\"lr\": 0.5/' " RUNS "/cfg/config.json") == 0);
    CHECK(trained("--quiet --resume " RUNS "/cfg") == 0);
    CHECK(says("last.err", "cfg/config.json differs from the checkpoint, whose options are the run's"));
    CHECK(says("last.err", "config.json has \"lr\": 0.5; the checkpoint 0.001"));
    CHECK(same_run("ref", "cfg"));
    CHECK(says("cfg/config.json", "\"lr\": 0.001,"));
}

int main(void) {
    if (sh("rm -rf " RUNS " && mkdir -p " RUNS) != 0 || fault_setup() != 0) return 1;
    if (trained("--quiet " SHORT " --run ref") != 0) return 1;
    RUN(test_resumable_before_the_first_checkpoint);
    RUN(test_lost_summary_is_redone);
    RUN(test_log_cut_survives_a_kill);
    RUN(test_write_errors_are_reported);
    RUN(test_sigterm_at_the_last_step);
    RUN(test_sigterm_at_the_start);
    RUN(test_checksum_covers_the_metadata);
    RUN(test_every_stored_field_is_validated);
    RUN(test_memory_and_input_bounds);
    RUN(test_layer_limits_documented);
    RUN(test_big_model_resumes);
    RUN(test_one_process_per_run);
    RUN(test_edited_config_is_named);
    return test_summary();
}

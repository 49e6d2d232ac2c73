/* Kill anywhere: a short run (8 steps, 2 checkpoints, 2 evaluations with best.safetensors,
 * the final evaluation, plots and summary) is killed at every one of its file-system
 * operations in its run directory, one kill per try (tests/fault_inject.c: every write,
 * fsync, ftruncate, rename, unlink, mkdir and rmdir; a kill in a write comes after half its
 * bytes), and then continued as a user would: `--resume` when the run directory exists and
 * its summary is not final, the same command again when the kill came before the directory
 * appeared. Every try must end exactly as the run that was never killed: the same bits in
 * last.safetensors and best.safetensors, the same log rows, the same summary figures, and no
 * temporary file or half-built directory left. */
#include "test.h"

#define RUNS "tests/tmp/kill"
#include "e2e.h"
#include "fault.h"

#include <string.h>

#define RESUME_KILLS 16   /* the resume's repairs and its first best.safetensors */
#define SHORT "--data " TINY " --val 100 --model 784-16-10 --steps 8 --ckpt-every 4 --log-every 2 " \
              "--eval-every 4 --threads 1 --runs-dir " RUNS

static int final_summary(const char *run) {
    char stopped[32] = "";
    if (is_file(ckpt(run, "summary.json"))) summary_field(run, "stopped", stopped, sizeof stopped);
    return !strcmp(stopped, "completed");
}

static void test_kill_at_every_operation(void) {
    CHECK(trained("--quiet " SHORT " --run ref") == 0);
    CHECK(faulty("FAULT_COUNT=" RUNS "/count", SHORT " --run counted") == 0);
    char err[ERR_LEN];
    char *text = read_file(RUNS "/count", NULL, err);
    long n = text ? atol(text) : 0;
    free(text);
    CHECK(n > 80);   /* the run's operations: checkpoints, log, best, summary, plots */
    int failures = 0, resumed = 0, restarted = 0;
    for (long k = 1; k <= n; k++) {
        char env[64];
        snprintf(env, sizeof env, "FAULT_NOSYNC=1 FAULT_AT=%ld", k);
        sh("rm -rf " RUNS "/k");
        int killed = faulty(env, SHORT " --run k") == -1, rc = 0;
        if (is_dir(RUNS "/k")) {
            if (!final_summary("k")) { rc = faulty("FAULT_NOSYNC=1", "--resume " RUNS "/k"); resumed++; }
        } else {
            rc = faulty("FAULT_NOSYNC=1", SHORT " --run k");
            restarted++;
        }
        int ok = killed && rc == 0 && same_run("ref", "k") &&
                 sh_status("ls -a " RUNS " " RUNS "/k | grep -q '\\.tmp\\.'") == 1;
        if (!ok && failures++ < 5) {
            fprintf(stderr, "  killed at operation %ld of %ld (killed %d, then exit %d):\n", k, n, killed, rc);
            sh("cat " RUNS "/last.err >&2");
        }
    }
    fprintf(stderr, "  %ld kills: %d resumed, %d started again (killed before the run directory "
            "appeared), %d finished before the kill mattered; %d differ\n", n, resumed, restarted,
            (int)n - resumed - restarted, failures);
    CHECK(failures == 0);
    CHECK(resumed > 0 && restarted > 0);
}

/* The resume itself, killed at each of its first operations (its repairs: temporary files
 * removed, log.csv cut, config.json rewritten; then the writes of its first evaluation), and
 * resumed again: the same end. The run it resumes was killed as step 4's checkpoint was
 * renamed into place, so its log holds rows (steps 2 and 4) that the resume must cut. */
static void test_kill_the_resume(void) {
    int failures = 0;
    for (int k = 1; k <= RESUME_KILLS; k++) {
        char env[64];
        sh("rm -rf " RUNS "/r");
        int rc = faulty("FAULT_NOSYNC=1 FAULT_FILE=last.safetensors FAULT_OPS=rename FAULT_AT=2", SHORT " --run r");
        snprintf(env, sizeof env, "FAULT_NOSYNC=1 FAULT_AT=%d", k);
        int killed = faulty(env, "--resume " RUNS "/r") == -1;
        int again = faulty("FAULT_NOSYNC=1", "--resume " RUNS "/r");
        int ok = rc == -1 && killed && again == 0 && same_run("ref", "r") &&
                 sh_status("ls -a " RUNS "/r | grep -q '\\.tmp\\.'") == 1;
        if (!ok && failures++ < 5) {
            fprintf(stderr, "  the resume killed at its operation %d (then exit %d):\n", k, again);
            sh("cat " RUNS "/last.err >&2");
        }
    }
    CHECK(failures == 0);
}

int main(void) {
    if (sh("rm -rf " RUNS " && mkdir -p " RUNS) != 0 || fault_setup() != 0) return 1;
    RUN(test_kill_at_every_operation);
    RUN(test_kill_the_resume);
    return test_summary();
}

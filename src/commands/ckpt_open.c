/* ckpt_open.c: a run's checkpoint set up for measuring, see ckpt_open.h. */
#include "commands/ckpt_open.h"
#include "run/options.h"
#include "run/rundir.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ckpt_resolve_path(const char *arg, char *out, size_t len) {
    if (is_dir(arg)) rundir_path(arg, RUN_LAST, out, len);
    else snprintf(out, len, "%s", arg);
}

void ckpt_open(Opened *o, const char *arg, const Config *flags) {
    char err[ERR_LEN];
    memset(o, 0, sizeof *o);
    ckpt_resolve_path(arg, o->path, sizeof o->path);
    if (st_read(o->path, &o->file, err) != 0) fatal(EXIT_FAIL, "%s", err);
    Config c;
    config_defaults(&c);
    if (ckpt_config(&o->file, &c, err) != 0) fatal(EXIT_FAIL, "%s: %s", o->path, err);
    config_finalize(&c);
    if (config_given(flags, "data")) snprintf(c.data, sizeof c.data, "%s", flags->data);
    c.threads = flags->threads;
    const char *step = st_meta_get(&o->file, "step");
    if (!step || sscanf(step, "%ld", &o->step) != 1 || o->step < 0)
        fatal(EXIT_FAIL, "%s: no step in its metadata (not a checkpoint of this program)", o->path);
    trainer_setup(&o->t, &c, SETUP_TRAIN, &o->file, o->path);
    o->lr = sched_lr(&o->t.sched, o->step > 0 ? o->step - 1 : 0, o->t.total_steps);
}

void ckpt_close(Opened *o) {
    trainer_free(&o->t);
    st_free(&o->file);
}

void ckpt_sibling(const char *ckpt, const char *name, char *out, size_t len) {
    const char *slash = strrchr(ckpt, '/');
    if (slash) snprintf(out, len, "%.*s/%s", (int)(slash - ckpt), ckpt, name);
    else snprintf(out, len, "%s", name);
}

/* 1 when the flag token takes the next token as its value (not a switch, no "=value") */
static int takes_next(const char *token, const char *next) {
    if (strchr(token, '=')) return 0;
    for (int i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, token + 2)) {
            if (opts[i].type != T_BOOL) return 1;
            static const char *words[] = {"on", "off", "true", "false", "1", "0"};
            for (int k = 0; next && k < 6; k++) if (!strcmp(next, words[k])) return 1;
            return 0;
        }
    return 0;
}

/* argv with the positional arguments moved after the flags (parsing stops at the first
 * positional one); a flag's value stays with its flag */
static char **args_flags_first(int argc, char **argv) {
    char **out = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    int n = 0;
    out[n++] = argv[0];
    for (int pass = 0; pass < 2; pass++)   /* the flags, then the positional arguments */
        for (int i = 1; i < argc; i++) {
            int flag = !strncmp(argv[i], "--", 2), with_value = flag && i + 1 < argc && takes_next(argv[i], argv[i + 1]);
            if (flag == (pass == 0)) {
                out[n++] = argv[i];
                if (with_value) out[n++] = argv[i + 1];
            }
            i += with_value;
        }
    out[n] = NULL;
    return out;
}

char **command_flags(Config *flags, int argc, char **argv, const char *command, const char *reads,
                     char ***pos, int *n_pos) {
    config_defaults(flags);
    char **args = args_flags_first(argc, argv);
    config_parse_args(flags, argc, args, 1, pos, n_pos);
    config_check_reads(flags, command, reads, NULL);
    return args;
}

/* resolve.c: options -> model spec, optimizer hyper-parameters, schedule; model files.
 *
 * A model file (models/NAME.model) holds one item per line (# starts a comment), in one of
 * two forms:
 *   sizes  key value lines: `layers 784-256-10` (required), `act`, `norm`, `dropout`,
 *          `loss`, `label-smoothing`; the values are defaults of the flags of the same name
 *   list   the layers one per line (`input 784`, `linear 256`, `layernorm`, `relu`,
 *          `dropout 0.1`, ...), plus optional `loss` and `label-smoothing` lines
 * A file with a `layers` line is of the sizes form, any other of the list form. */
#include "run/resolve.h"
#include "nn/layers.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int is_list_form(const char *model) {
    return !isdigit((unsigned char)model[0]);
}

/* Reads a model file into c (see above). */
static int apply_model_file(Config *c, const char *path, char *err) {
    char why[ERR_LEN];
    char *text = read_file(path, NULL, why);
    if (!text) return errf(err, "%s", why);
    int sizes_form = 0, line_no = 0, rc = 0;
    StrBuf list;
    sb_init(&list);
    for (char *p = text; *p;) {   /* first pass: which form */
        char key[64];
        if (sscanf(p, " %63s", key) == 1 && !strcmp(key, "layers")) sizes_form = 1;
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
    }
    static const char *sizes_keys[] = {"layers", "act", "norm", "dropout", "loss", "label-smoothing"};
    for (char *line = strtok(text, "\n"); line && rc == 0; line = strtok(NULL, "\n")) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char key[64], value[PATH_LEN], extra[2];
        int n = sscanf(line, "%63s %511s %1s", key, value, extra);
        if (n <= 0) continue;
        int is_key = 0;
        for (size_t i = 0; i < sizeof sizes_keys / sizeof *sizes_keys; i++) is_key |= !strcmp(key, sizes_keys[i]);
        if (!sizes_form && strcmp(key, "loss") && strcmp(key, "label-smoothing")) {
            if (is_key && strcmp(key, "dropout"))   /* act, norm: layers of their own here */
                rc = errf(err, "%s:%d: '%s': this file lists its layers (no 'layers' line); "
                          "write it as a layer line", path, line_no, key);
            else
                sb_printf(&list, "%s%s", list.len ? "\n" : "", line);
            continue;
        }
        if (n != 2) { rc = errf(err, "%s:%d: expected 'key value'", path, line_no); break; }
        if (!is_key) { rc = errf(err, "%s:%d: unknown key '%s'", path, line_no, key); break; }
        if (!strcmp(key, "layers")) {
            LayerSizes ls;
            if (model_parse_sizes(value, &ls, why) != 0) rc = errf(err, "%s:%d: %s", path, line_no, why);
            else snprintf(c->model, sizeof c->model, "%s", value);
        } else if (config_set_default(c, key, value, why) != 0) {
            rc = errf(err, "%s:%d: %s: %s", path, line_no, key, why);
        }
    }
    if (rc == 0 && !sizes_form) {
        if (!list.len) rc = errf(err, "%s: no layers (neither a 'layers' line nor layer lines)", path);
        else if (strlen(list.s) >= sizeof c->model) rc = errf(err, "%s: too many layers", path);
        else snprintf(c->model, sizeof c->model, "%s", list.s);
    }
    sb_free(&list);
    free(text);
    return rc;
}

void resolve_options(Config *c, int argc, char **argv) {
    char err[ERR_LEN];
    config_defaults(c);
    config_parse_args(c, argc, argv, 1, NULL, NULL);
    if (resolve_model(c, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    config_finalize(c);
}

int resolve_model(Config *c, char *err) {
    char why[ERR_LEN];
    if (!is_list_form(c->model)) {
        LayerSizes ls;
        return model_parse_sizes(c->model, &ls, err);
    }
    char path[PATH_LEN + 32];
    snprintf(path, sizeof path, "%s", c->model);
    if (path_lookup_error(path)) return errf(err, "%s: %s", path, strerror(path_lookup_error(path)));
    if (!is_file(path)) snprintf(path, sizeof path, "models/%s.model", c->model);
    if (is_file(path)) {
        if (apply_model_file(c, path, err) != 0) return -1;
        if (!is_list_form(c->model)) return 0;
    }
    ModelSpec m;
    if (model_spec_parse_list(c->model, &m, why) != 0) {
        if (!is_file(path) && !strpbrk(c->model, ", \n"))
            return errf(err, "'%s': neither layer sizes (like 784-256-10), a list of layers (like "
                        "'linear 256, relu, linear 10') nor a model file (tried %s and models/%s.model)",
                        c->model, c->model, c->model);
        return errf(err, "%s", why);
    }
    static const char *per_layer_flags[] = {"act", "norm", "dropout"};
    for (int i = 0; i < 3; i++)
        if (config_given(c, per_layer_flags[i]))
            return errf(err, "--%s does not apply: the model lists its layers (%s)",
                        per_layer_flags[i], c->model);
    model_spec_format(&m, c->model, sizeof c->model);
    return 0;
}

int resolve_model_spec(const Config *c, ModelSpec *m, char *err) {
    if (is_list_form(c->model)) {
        if (model_spec_parse_list(c->model, m, err) != 0) return -1;
    } else {
        LayerSizes ls;
        if (model_parse_sizes(c->model, &ls, err) != 0) return -1;
        int norm = !strcmp(c->norm, "layer") ? LAYER_LAYERNORM : !strcmp(c->norm, "batch") ? LAYER_BATCHNORM : -1;
        model_spec_from_sizes(m, &ls, norm, (LayerKind)layer_find(c->act), c->dropout);
    }
    model_spec_add_loss(m, !strcmp(c->loss, "mse") ? LAYER_MSE : LAYER_CROSS_ENTROPY, c->label_smoothing);
    return 0;
}

OptimHyper resolve_optim_hyper(const Config *c) {
    const SchedDef *s = sched_find(c->schedule);
    OptimHyper h = {
        .wd = c->wd, .wd_bias = c->wd_bias, .momentum = c->momentum, .dampening = c->dampening,
        .beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps, .alpha = c->alpha,
        .lr_decay = c->lr_decay, .initial_accumulator = c->initial_accumulator,
        .momentum_decay = c->momentum_decay, .nesterov = c->nesterov, .centered = c->centered,
        .amsgrad = c->amsgrad, .cycled = s->cycles_momentum && c->cycle_momentum,
        .rho = c->rho, .beta2_decay = c->beta2_decay, .eps2 = c->eps2,
        .clip_threshold = c->clip_threshold, .trust_coeff = c->trust_coeff,
        .trust_clip = c->trust_clip, .ns_steps = (int)c->ns_steps, .ns_eps = c->ns_eps,
        .muon_adjust = strcmp(c->muon_adjust, "match_rms_adamw") ? MUON_ADJUST_ORIGINAL
                                                                  : MUON_ADJUST_MATCH_RMS_ADAMW,
        .block = (int)c->block, .precond_every = (int)c->precond_every,
        .matrix_eps = c->matrix_eps, .lookahead_k = (int)c->lookahead_k,
        .lookahead_alpha = c->lookahead_alpha, .inner = optim_find(c->inner),
        .max_iter = c->max_iter, .max_eval = c->max_eval ? c->max_eval : c->max_iter * 5 / 4,
        .history_size = c->history_size, .hess_every = c->hess_every,
        .tolerance_grad = c->tolerance_grad, .tolerance_change = c->tolerance_change, .r = c->weight_step_power,
        .weight_lr_power = c->weight_lr_power,
        .strong_wolfe = !strcmp(c->line_search, "strong_wolfe"), .seed = (uint64_t)c->seed,
    };
    return h;
}

Schedule resolve_schedule(const Config *c) {
    Schedule s = {
        .def = sched_find(c->schedule), .lr = c->lr, .min_lr = c->min_lr, .gamma = c->gamma,
        .power = c->power, .warmup = c->warmup, .step_size = c->step_size, .cycle = c->cycle,
        .cycle_mult = c->cycle_mult, .pct_start = c->pct_start, .div_factor = c->div_factor,
        .final_div_factor = c->final_div_factor, .base_momentum = c->base_momentum,
        .max_momentum = c->max_momentum, .three_phase = c->three_phase,
        .cycle_momentum = c->cycle_momentum,
    };
    s.cyclic_mode = !strcmp(c->cyclic_mode, "triangular2") ? CYCLIC_TRIANGULAR2
                  : !strcmp(c->cyclic_mode, "exp_range") ? CYCLIC_EXP_RANGE : CYCLIC_TRIANGULAR;
    char err[ERR_LEN];
    if (c->milestones[0]) {
        int n = sched_parse_milestones(c->milestones, s.milestones, SCHED_MAX_MILESTONES, err);
        s.n_milestones = n > 0 ? n : 0;   /* config_finalize refused bad milestones already */
    }
    return s;
}

/* closure.c: what rules with a closure share: their scalars and stream as checkpoint text,
 * and the flat-vector arithmetic, see closure.h. */
#include "optim/closure.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const OptimClosureRule *optim_closure_rule(const char *name) {
    static const struct { const char *name; const OptimClosureRule *rule; } rules[] = {
        {"lbfgs", &lbfgs_rule}, {"sf-adamw", &sf_adamw_rule}, {"sf-sgd", &sf_sgd_rule},
        {"sophia", &sophia_rule},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (!strcmp(rules[i].name, name)) return rules[i].rule;
    return NULL;
}

float *optim_flat_state(const Optim *o, int i) {
    return o->state + o->states[i].offset;
}

/* The i-th name of a space-separated list into name; 0 when there is none. */
static int nth_name(const char *list, int i, char *name, size_t len) {
    const char *p = list;
    for (int k = 0; p && *p; k++) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (!n) break;
        if (k == i) { snprintf(name, len, "%.*s", (int)n, p); return 1; }
        p += n;
    }
    return 0;
}

void optim_scalars_text(const Optim *o, char *buf, size_t len) {
    const OptimClosureRule *r = o->rule;
    buf[0] = 0;
    char name[32];
    size_t used = 0;
    for (int i = 0; r && nth_name(r->scalars, i, name, sizeof name) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%.17g", i ? " " : "", name, o->scalars[i]);
}

void optim_rng_text(const Optim *o, char *buf, size_t len) {
    buf[0] = 0;
    if (o->rule && o->rule->uses_rng)
        snprintf(buf, len, "%" PRIu64 " %" PRIu64, o->rng.state, o->rng.inc);
}

int optim_scalars_parse(Optim *o, const char *text, char *err) {
    const OptimClosureRule *r = o->rule;
    char name[32];
    for (int i = 0; r && nth_name(r->scalars, i, name, sizeof name); i++) {
        const char *at = text ? strstr(text, name) : NULL;
        /* the name must stand as a whole word followed by '=' */
        while (at && ((at != text && at[-1] != ' ') || at[strlen(name)] != '='))
            at = strstr(at + 1, name);
        char *end;
        double v = at ? strtod(at + strlen(name) + 1, &end) : 0;
        if (!at || (*end && *end != ' ') || !isfinite(v))
            return errf(err, "optimizer scalar '%s' missing, malformed or not finite in the checkpoint's metadata", name);
        o->scalars[i] = v;
    }
    return r && r->check_scalars ? r->check_scalars(o, err) : 0;
}

int optim_rng_parse(Optim *o, const char *text, char *err) {
    if (!o->rule || !o->rule->uses_rng) return 0;
    /* PCG32 needs an odd increment: an even one is not a stream this trainer wrote */
    if (!text || sscanf(text, "%" SCNu64 " %" SCNu64, &o->rng.state, &o->rng.inc) != 2 || !(o->rng.inc & 1))
        return errf(err, "optimizer random stream missing or malformed in the checkpoint's metadata");
    return 0;
}

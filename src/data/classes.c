/* classes.c: class names, see classes.h. */
#include "data/classes.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const mnist_names[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
/* Fashion-MNIST's labels 0-9, as torchvision's FashionMNIST.classes spells them */
static const char *const fashion_names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

const char *const *classes_builtin(const char *spec, int *n) {
    *n = 10;
    if (!strcmp(spec, "mnist")) return mnist_names;
    if (!strcmp(spec, "fashion")) return fashion_names;
    *n = 0;
    return NULL;
}

char **classes_copy(const char *const *names, int n) {
    char **out = xcalloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) out[i] = xstrdup(names[i]);
    return out;
}

void classes_free(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

int classes_join(char *const *names, int n, char *out, size_t len) {
    size_t used = 0;   /* every write below leaves room for the closing NUL */
    for (int i = 0; i < n; i++) {
        if (i) {
            if (used + 1 >= len) goto full;
            out[used++] = ',';
        }
        for (const char *p = names[i]; *p; p++) {
            int esc = *p == ',' || *p == '\\';
            if (used + 1 + (size_t)esc >= len) goto full;
            if (esc) out[used++] = '\\';
            out[used++] = *p;
        }
    }
    out[used] = 0;
    return 0;
full:
    out[0] = 0;
    return -1;
}

int classes_split(const char *list, char ***names) {
    int n = list[0] ? 1 : 0;
    for (const char *p = list; *p; p++) {
        if (*p == '\\' && p[1]) p++;
        else if (*p == ',') n++;
    }
    *names = xcalloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    char *name = xmalloc(strlen(list) + 1);
    size_t k = 0;
    int i = 0;
    for (const char *p = list; n > 0; p++) {
        if (*p == '\\' && p[1]) { name[k++] = *++p; continue; }
        if (*p == ',' || !*p) {
            name[k] = 0;
            (*names)[i++] = xstrdup(name);
            k = 0;
            if (!*p) break;
            continue;
        }
        name[k++] = *p;
    }
    free(name);
    return n;
}

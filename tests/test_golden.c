/* Golden bits: the weights of fixed recipes after a fixed number of steps, as a digest
 * (FNV-1a 64 over every model tensor's name and float bytes, in file order). A refactoring that
 * changes the arithmetic of any op, loss, optimizer, schedule, sampler or RNG changes a
 * digest. The digests depend on the GEMM path (avx512 and avx2 share one K-blocking and
 * give the same bits; the portable path another), so each path this CPU has is checked. */
#include "test.h"

#define RUNS "tests/tmp/golden"
#include "e2e.h"
#include "kernels/kernels.h"

#include <inttypes.h>
#include <stdint.h>

static uint64_t weights_digest(const char *path) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(path, &f, err) != 0) { fprintf(stderr, "  %s\n", err); return 0; }
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        if (!strncmp(t->name, "optimizer.", 10)) continue;   /* the weights alone */
        long n = 1;
        for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
        for (const char *c = t->name; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ULL;
        const uint8_t *b = (const uint8_t *)t->data;
        for (long k = 0; k < n * (long)sizeof(float); k++) h = (h ^ b[k]) * 1099511628211ULL;
    }
    st_free(&f);
    return h;
}

typedef struct {
    const char *name, *flags;
    uint64_t simd, generic;   /* digest on the avx512/avx2 paths, on the portable path */
} Golden;

static const Golden recipes[] = {
    /* the default recipe (784-256-256-10, AdamW, cosine, batch 64), 200 steps */
    {"default", "--steps 200", 0x6c50b36cc86a4921ULL, 0xbdfc9f094ba81b62ULL},
    {"nadam-gelu-dropout-accum-clip",
     "--steps 200 --opt nadam --dropout 0.1 --act gelu --model 784-128-64-10 --accum 2 --clip 1 --batch 32",
     0xbd6acc4c1a92c462ULL, 0x85618701528f2c00ULL},
    {"rmsprop-tanh-mse",
     "--steps 150 --opt rmsprop --centered --momentum 0.5 --loss mse --act tanh --model 784-64-10",
     0xf91f84e982a6327cULL, 0xa3df54698d8ee6aaULL},
    /* BatchNorm's column passes, LARS and the shared SGD update, the ReLU fusion */
    {"lars-batchnorm",
     "--steps 150 --opt lars --lr 0.5 --norm batch --model 784-40-24-10 --batch 48",
     0x904b5e5d27ac573cULL, 0xd961aa7851581f10ULL},
    /* LayerNorm, Nesterov momentum with weight decay, LAMB */
    {"nesterov-layernorm", "--steps 150 --opt nesterov --lr 0.05 --wd 1e-3 --norm layer --model 784-48-10",
     0x87cb1160fda72ea9ULL, 0x230ea26fbadd9472ULL},
    {"lamb", "--steps 100 --opt lamb --lr 1e-2 --model 784-32-32-10 --batch 80", 0xd2860bfcd08b17d5ULL,
     0x743a051df73ded77ULL},
};

static void test_golden_weights(void) {
    static const char *paths[] = {"avx512", "avx2", "generic"};
    int checked = 0;
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (kernels_force_path(paths[p]) != 0) {
            printf("  %s: not supported by this CPU, skipped\n", paths[p]);
            continue;
        }
        for (size_t i = 0; i < sizeof recipes / sizeof *recipes; i++) {
            const Golden *g = &recipes[i];
            char name[128];
            snprintf(name, sizeof name, "%s-%s", paths[p], g->name);
            CHECK(sh("TRAIN_KERNEL=%s " TRAIN " --quiet --runs-dir " RUNS " --force --run %s %s "
                     "--ckpt-every 0 > /dev/null", paths[p], name, g->flags) == 0);
            uint64_t got = weights_digest(ckpt(name, "last.safetensors"));
            uint64_t want = strcmp(paths[p], "generic") ? g->simd : g->generic;
            if (got != want)
                fprintf(stderr, "  %s: digest 0x%016" PRIx64 "ULL, expected 0x%016" PRIx64 "ULL\n",
                        name, got, want);
            CHECK(got == want);
            checked++;
        }
    }
    kernels_force_path("auto");
    CHECK(checked >= 2 * (int)(sizeof recipes / sizeof *recipes));
}

int main(void) {
    sh("mkdir -p " RUNS);
    RUN(test_golden_weights);
    return test_summary();
}

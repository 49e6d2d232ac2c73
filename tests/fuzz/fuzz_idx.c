/* Fuzzes the IDX reader (src/data/dataset.c idx_read) on hostile files, raw and gzip: it must reject
 * or accept without memory errors, and what it accepts must hold exactly the announced bytes. */
#include "fuzz.h"
#include "data/dataset.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("idx", data, size);
    static const uint32_t magics[] = {0x803, 0x801};
    for (int m = 0; m < 2; m++) {
        uint8_t *payload;
        int dims[3] = {-1, -1, -1}, ndims = -1;
        char err[ERR_LEN];
        if (idx_read(path, magics[m], &payload, dims, &ndims, err) != 0) {
            FUZZ_ASSERT(payload == NULL && err[0]);
            continue;
        }
        FUZZ_ASSERT(ndims == (int)(magics[m] & 0xff));
        size_t total = 1;
        for (int d = 0; d < ndims; d++) {
            FUZZ_ASSERT(dims[d] >= 0);
            total *= (size_t)dims[d];
        }
        /* every announced byte is readable (ASan checks the bounds) */
        volatile unsigned sum = 0;
        for (size_t i = 0; i < total; i++) sum += payload[i];
        (void)sum;
        free(payload);
    }
    return 0;
}

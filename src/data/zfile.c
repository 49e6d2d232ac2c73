/* zfile.c: raw or gzip input with trailing data refused, see zfile.h. */
#include "data/zfile.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IN_SIZE (1 << 17)

struct ZFile {
    FILE *fp;
    char *path;
    int gzip;             /* 1: inflating; 0: raw bytes */
    int ended;            /* the content ended (raw EOF, or the last gzip member) */
    z_stream z;
    unsigned char *in;
};

/* Refills the input buffer; returns the bytes now available, 0 at EOF, -1 on a read error. */
static long refill(ZFile *f, char *err) {
    if (f->z.avail_in) return f->z.avail_in;
    size_t got = fread(f->in, 1, IN_SIZE, f->fp);
    if (got == 0 && ferror(f->fp)) return errf(err, "%s: read error: %s", f->path, strerror(errno));
    f->z.next_in = f->in;
    f->z.avail_in = (uInt)got;
    return (long)got;
}

ZFile *zf_open(const char *path, char *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { errf(err, "%s: %s", path, strerror(errno)); return NULL; }
    ZFile *f = xcalloc(1, sizeof *f);
    f->fp = fp;
    f->path = xstrdup(path);
    f->in = xmalloc(IN_SIZE);
    if (refill(f, err) < 0) { zf_close(f); return NULL; }
    f->gzip = f->z.avail_in >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    if (f->gzip && inflateInit2(&f->z, 15 + 16) != Z_OK) {   /* gzip wrapper only */
        errf(err, "%s: cannot start zlib", path);
        f->gzip = 0;
        zf_close(f);
        return NULL;
    }
    return f;
}

static long read_raw(ZFile *f, unsigned char *out, size_t n, char *err) {
    size_t done = 0;
    while (done < n) {
        long avail = refill(f, err);
        if (avail < 0) return -1;
        if (avail == 0) break;
        size_t take = (size_t)avail < n - done ? (size_t)avail : n - done;
        memcpy(out + done, f->z.next_in, take);
        f->z.next_in += take;
        f->z.avail_in -= (uInt)take;
        done += take;
    }
    return (long)done;
}

/* After a gzip member's end: another member, or the end of the file; anything else is junk. */
static int next_member(ZFile *f, char *err) {
    long avail = refill(f, err);
    if (avail < 0) return -1;
    if (avail == 0) { f->ended = 1; return 0; }
    if (avail == 1) {   /* the second magic byte may still be in the file */
        unsigned char first = f->z.next_in[0];
        f->in[0] = first;
        size_t got = fread(f->in + 1, 1, IN_SIZE - 1, f->fp);
        f->z.next_in = f->in;
        f->z.avail_in = (uInt)(1 + got);
    }
    if (f->z.avail_in < 2 || f->z.next_in[0] != 0x1f || f->z.next_in[1] != 0x8b)
        return errf(err, "%s: trailing data after the end of the gzip stream (damaged or appended to)",
                    f->path);
    return inflateReset(&f->z) == Z_OK ? 0 : errf(err, "%s: cannot restart zlib", f->path);
}

long zf_read(ZFile *f, void *buf, size_t n, char *err) {
    if (!f->gzip) return read_raw(f, buf, n, err);
    size_t done = 0;
    while (done < n && !f->ended) {
        if (refill(f, err) < 0) return -1;
        if (f->z.avail_in == 0)
            return errf(err, "%s: corrupt or truncated gzip data (unexpected end of file)", f->path);
        size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
        f->z.next_out = (unsigned char *)buf + done;
        f->z.avail_out = (uInt)chunk;
        int rc = inflate(&f->z, Z_NO_FLUSH);
        done += chunk - f->z.avail_out;
        if (rc == Z_STREAM_END) {
            if (next_member(f, err) != 0) return -1;
        } else if (rc != Z_OK) {
            return errf(err, "%s: corrupt or truncated gzip data (%s)", f->path,
                        f->z.msg ? f->z.msg : "inflate failed");
        }
    }
    return (long)done;
}

int zf_is_gzip(const ZFile *f) {
    return f->gzip;
}

void zf_close(ZFile *f) {
    if (!f) return;
    if (f->gzip) inflateEnd(&f->z);
    fclose(f->fp);
    free(f->in);
    free(f->path);
    free(f);
}

/* zfile.h: reading a file that may be gzip-compressed (detected by its magic bytes 1f 8b, not
 * its name). Unlike zlib's gz* functions, which stop quietly at the end of the gzip data,
 * anything after the last gzip member that is not another member is an error, so a file
 * with junk appended is refused rather than read as if it ended earlier. Concatenated
 * members (as `cat a.gz b.gz` makes) read as one stream, as gunzip reads them. */
#ifndef DATA_ZFILE_H
#define DATA_ZFILE_H

#include <stddef.h>

typedef struct ZFile ZFile;

/* Opens path. Returns NULL with err = "<path>: <why>". */
ZFile *zf_open(const char *path, char *err);
/* Reads up to n bytes of the (decompressed) content, fewer only at its end. Returns the count,
 * or -1 with err = "<path>: <why>" (I/O error, corrupt or truncated gzip data, a failed CRC,
 * trailing data after the gzip stream). */
long zf_read(ZFile *f, void *buf, size_t n, char *err);
/* 1 if the file is gzip-compressed (its content can be far larger than the file). */
int zf_is_gzip(const ZFile *f);
void zf_close(ZFile *f);

#endif

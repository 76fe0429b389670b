/* sl-zip.h: a bounded reader for ZIP archives (Python wheels): list members, inflate one. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *name;
  guint64 compressed_size, size, header_offset;
  guint32 crc32;
  int method; /* 0 stored, 8 deflate */
} SlZipMember;

typedef struct _SlZip SlZip;

/* Reads the central directory of the archive held in data (the SlZip keeps its own reference:
 * the caller may drop theirs). Refuses ZIP64, encrypted members, more than 100000 members and damaged records. */
SlZip *sl_zip_open (GBytes *data, GError **error);
void sl_zip_free (SlZip *zip); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlZip, sl_zip_free)

guint sl_zip_count (const SlZip *zip);
const SlZipMember *sl_zip_member (const SlZip *zip, guint index);
const SlZipMember *sl_zip_find (const SlZip *zip, const char *name);

/* The member's contents, inflated and checked against its size and CRC-32; refused when it is
 * larger than max_size bytes. */
GBytes *sl_zip_read (const SlZip *zip, const SlZipMember *member, gsize max_size, GError **error);

G_END_DECLS

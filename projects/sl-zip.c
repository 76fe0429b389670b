/* sl-zip.c: a bounded ZIP reader: central directory, local headers, stored and deflated members. */
#include "sl-zip.h"

#include "sl-backbone.h"

#include <string.h>
#include <zlib.h>

#define EOCD_SIG    0x06054b50u
#define CDIR_SIG    0x02014b50u
#define LOCAL_SIG   0x04034b50u
#define MAX_MEMBERS 100000

struct _SlZip
{
  GBytes *bytes;
  const guint8 *data;
  gsize size;
  GPtrArray *members; /* SlZipMember * */
};

static guint16
rd16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static void
member_free (gpointer p)
{
  SlZipMember *m = p;

  g_free (m->name);
  g_free (m);
}

static gboolean
fail (GError **error, const char *what)
{
  g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
               "Not a readable wheel (ZIP archive): %s", what);
  return FALSE;
}

void
sl_zip_free (SlZip *zip)
{
  if (zip == NULL)
    return;
  g_ptr_array_unref (zip->members);
  g_bytes_unref (zip->bytes);
  g_free (zip);
}

static gboolean
read_directory (SlZip *zip, GError **error)
{
  const guint8 *d = zip->data;
  gsize size = zip->size, eocd = G_MAXSIZE, start;
  guint64 cd_offset, cd_size, count, pos;

  if (size < 22)
    return fail (error, "the file is too short");
  /* The end record is in the last 22 + 65535 bytes (after it, only the comment). */
  start = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (gsize i = size - 22 + 1; i-- > start;)
    if (rd32 (d + i) == EOCD_SIG && i + 22 + rd16 (d + i + 20) == size)
      {
        eocd = i;
        break;
      }
  if (eocd == G_MAXSIZE)
    return fail (error, "no end-of-directory record (truncated?)");
  if (rd16 (d + eocd + 4) != 0 || rd16 (d + eocd + 6) != 0)
    return fail (error, "multi-disk archives are not supported");
  count = rd16 (d + eocd + 10);
  cd_size = rd32 (d + eocd + 12);
  cd_offset = rd32 (d + eocd + 16);
  if (count == 0xffff || cd_offset == 0xffffffffu || cd_size == 0xffffffffu)
    return fail (error, "ZIP64 archives are not supported");
  if (cd_offset > eocd || cd_size > eocd - cd_offset)
    return fail (error, "the central directory lies outside the file");
  pos = cd_offset;
  for (guint64 n = 0; n < count; n++)
    {
      guint64 end = cd_offset + cd_size;
      SlZipMember *m;
      guint16 name_len, extra_len, comment_len, flags;

      if (pos + 46 > end || rd32 (d + pos) != CDIR_SIG)
        return fail (error, "a damaged central directory entry");
      flags = rd16 (d + pos + 8);
      name_len = rd16 (d + pos + 28);
      extra_len = rd16 (d + pos + 30);
      comment_len = rd16 (d + pos + 32);
      if (pos + 46 + name_len + extra_len + comment_len > end)
        return fail (error, "a central directory entry runs past the directory");
      if (flags & 1)
        return fail (error, "encrypted members are not supported");
      if (memchr (d + pos + 46, '\0', name_len) != NULL)
        return fail (error, "a member name holds a NUL byte");
      m = g_new0 (SlZipMember, 1);
      m->method = rd16 (d + pos + 10);
      m->crc32 = rd32 (d + pos + 16);
      m->compressed_size = rd32 (d + pos + 20);
      m->size = rd32 (d + pos + 24);
      m->header_offset = rd32 (d + pos + 42);
      m->name = g_strndup ((const char *) d + pos + 46, name_len);
      g_ptr_array_add (zip->members, m);
      if (zip->members->len > MAX_MEMBERS)
        return fail (error, "too many members");
      pos += 46 + (guint64) name_len + extra_len + comment_len;
    }
  return TRUE;
}

SlZip *
sl_zip_open (GBytes *data, GError **error)
{
  SlZip *zip = g_new0 (SlZip, 1);

  zip->bytes = g_bytes_ref (data);
  zip->data = g_bytes_get_data (data, &zip->size);
  zip->members = g_ptr_array_new_with_free_func (member_free);
  if (!read_directory (zip, error))
    {
      sl_zip_free (zip);
      return NULL;
    }
  return zip;
}

guint
sl_zip_count (const SlZip *zip)
{
  return zip->members->len;
}

const SlZipMember *
sl_zip_member (const SlZip *zip, guint index)
{
  return index < zip->members->len ? g_ptr_array_index (zip->members, index) : NULL;
}

const SlZipMember *
sl_zip_find (const SlZip *zip, const char *name)
{
  for (guint i = 0; i < zip->members->len; i++)
    {
      const SlZipMember *m = g_ptr_array_index (zip->members, i);

      if (strcmp (m->name, name) == 0)
        return m;
    }
  return NULL;
}

static gboolean
inflate_raw (const guint8 *src, gsize src_len, guint8 *dst, gsize dst_len, GError **error)
{
  z_stream zs = { 0 };
  gsize in_done = 0, out_done = 0;
  int rc;

  if (inflateInit2 (&zs, -MAX_WBITS) != Z_OK)
    return fail (error, "zlib could not start");
  do
    {
      /* zlib counts in uInt: feed at most 1 GiB at a time. */
      gsize in_chunk = MIN (src_len - in_done, (gsize) 1 << 30);
      gsize out_chunk = MIN (dst_len - out_done, (gsize) 1 << 30);

      zs.next_in = (Bytef *) src + in_done;
      zs.avail_in = (uInt) in_chunk;
      zs.next_out = dst + out_done;
      zs.avail_out = (uInt) out_chunk;
      rc = inflate (&zs, Z_NO_FLUSH);
      in_done += in_chunk - zs.avail_in;
      out_done += out_chunk - zs.avail_out;
      if (rc == Z_OK && zs.avail_out == 0 && out_done == dst_len)
        {
          /* Output is full: the stream must end now. */
          guint8 extra;
          zs.next_out = &extra;
          zs.avail_out = 1;
          rc = inflate (&zs, Z_NO_FLUSH);
          if (rc != Z_STREAM_END || zs.avail_out == 0)
            rc = Z_DATA_ERROR;
        }
      else if (rc == Z_OK && zs.avail_in == 0 && in_done == src_len)
        rc = Z_DATA_ERROR; /* input ended before the stream did */
      else if (rc == Z_BUF_ERROR)
        rc = Z_DATA_ERROR;
    }
  while (rc == Z_OK);
  inflateEnd (&zs);
  if (rc != Z_STREAM_END || out_done != dst_len)
    return fail (error, "a compressed member is damaged or has the wrong size");
  return TRUE;
}

GBytes *
sl_zip_read (const SlZip *zip, const SlZipMember *m, gsize max_size, GError **error)
{
  const guint8 *d = zip->data;
  guint64 off = m->header_offset, data_off;
  guint8 *out;

  if (m->size > max_size)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "Member %s is larger (%" G_GUINT64_FORMAT " bytes) than expected", m->name,
                   m->size);
      return NULL;
    }
  if (off > zip->size || zip->size - off < 30 || rd32 (d + off) != LOCAL_SIG)
    return fail (error, "a damaged local header"), NULL;
  data_off = off + 30 + rd16 (d + off + 26) + (guint64) rd16 (d + off + 28);
  if (data_off > zip->size || m->compressed_size > zip->size - data_off)
    return fail (error, "a member runs past the end of the file (truncated?)"), NULL;
  out = g_try_malloc (m->size > 0 ? m->size : 1);
  if (out == NULL)
    return fail (error, "out of memory"), NULL;
  if (m->method == 0)
    {
      if (m->compressed_size != m->size)
        return g_free (out), fail (error, "a stored member has two sizes"), NULL;
      memcpy (out, d + data_off, m->size);
    }
  else if (m->method == 8)
    {
      if (!inflate_raw (d + data_off, m->compressed_size, out, m->size, error))
        return g_free (out), NULL;
    }
  else
    return g_free (out), fail (error, "a member uses an unsupported compression method"), NULL;
  {
    /* crc32 takes uInt lengths: checksum in chunks. */
    uLong crc = crc32 (0L, Z_NULL, 0);
    for (guint64 done = 0; done < m->size;)
      {
        uInt chunk = (uInt) MIN (m->size - done, (guint64) 1 << 30);
        crc = crc32 (crc, out + done, chunk);
        done += chunk;
      }
    if ((guint32) crc != m->crc32)
      return g_free (out), fail (error, "a member fails its CRC-32 check"), NULL;
  }
  return g_bytes_new_take (out, m->size);
}

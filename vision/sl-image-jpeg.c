/* sl-image-jpeg.c: JPEG decoding with libjpeg that reports damage through sl_error and never prints (OpenCV's would). */
#include "sl-image-private.h"
#include "sl-error-private.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  bool truncated;
  char message[JMSG_LENGTH_MAX];
} JpegErrors;

static void
error_exit (j_common_ptr cinfo)
{
  JpegErrors *e = (JpegErrors *) cinfo->err;

  e->pub.format_message (cinfo, e->message);
  longjmp (e->jump, 1);
}

/* Warnings: missing data ends the decoding (libjpeg would fill the rest with
 * gray and go on); lost entropy-coded data is damage; the rest (extra bytes
 * before a marker, an unknown JFIF revision) changes no pixel and is ignored.
 * Nothing is printed: libjpeg's default would write to stderr. */
static void
emit_message (j_common_ptr cinfo, int level)
{
  JpegErrors *e = (JpegErrors *) cinfo->err;
  int code = e->pub.msg_code;

  if (level >= 0)
    return; /* trace messages */
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC)
    {
      /* Running into the end-of-image marker inside the data is a cut-off file
       * whose end was patched on. */
      e->truncated = code == JWRN_JPEG_EOF
                     || (code == JWRN_HIT_MARKER && cinfo->is_decompressor
                         && ((j_decompress_ptr) cinfo)->unread_marker == 0xd9);
      e->pub.format_message (cinfo, e->message);
      longjmp (e->jump, 1);
    }
  e->pub.num_warnings++;
}

static void
output_message (j_common_ptr cinfo)
{
  (void) cinfo;
}

sl_status
sl_jpeg_decode (const uint8_t *data, size_t size, const char *name, sl_image *out, bool *handled,
                sl_error *err)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrors e;
  sl_status st;

  memset (out, 0, sizeof *out);
  memset (&e, 0, sizeof e);
  *handled = true;
  cinfo.err = jpeg_std_error (&e.pub);
  e.pub.error_exit = error_exit;
  e.pub.emit_message = emit_message;
  e.pub.output_message = output_message;
  jpeg_create_decompress (&cinfo);
  if (setjmp (e.jump))
    {
      sl_image_clear (out);
      jpeg_destroy_decompress (&cinfo);
      if (e.truncated)
        return sl_error_set (err, SL_ERR_FORMAT,
                             "%s is truncated: the JPEG data ends before the image is complete "
                             "(an interrupted copy or download?)",
                             name);
      return sl_error_set (err, SL_ERR_FORMAT,
                           "%s: the JPEG data is corrupt and cannot be decoded (%s)", name,
                           e.message);
    }
  jpeg_mem_src (&cinfo, data, (unsigned long) size);
  jpeg_read_header (&cinfo, TRUE);
  /* CMYK is left to OpenCV, which converts it its own way. (Motion-JPEG frames
   * without Huffman tables need nothing: libjpeg-turbo fills in the standard
   * tables, the same ones OpenCV would load.) */
  if (cinfo.num_components != 1 && cinfo.num_components != 3)
    {
      *handled = false;
      jpeg_destroy_decompress (&cinfo);
      return SL_OK;
    }
  /* As OpenCV's decoder: default DCT and upsampling, RGB or gray out. */
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress (&cinfo);
  st = sl_image_alloc (out, (int) cinfo.output_width, (int) cinfo.output_height,
                       cinfo.output_components, 8, err);
  if (st != SL_OK)
    {
      jpeg_destroy_decompress (&cinfo);
      return st;
    }
  while (cinfo.output_scanline < cinfo.output_height)
    {
      JSAMPROW row = out->data + (size_t) cinfo.output_scanline * out->stride;

      jpeg_read_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  return SL_OK;
}

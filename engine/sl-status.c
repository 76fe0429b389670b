/* sl-status.c: status strings, error messages and the version of the runtime. */
#include "sl-error-private.h"
#include "sl-config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
sl_status_to_string (sl_status status)
{
  switch (status)
    {
      case SL_OK: return "success";
      case SL_ERR_INVALID: return "invalid argument";
      case SL_ERR_NOMEM: return "out of memory";
      case SL_ERR_IO: return "input/output error";
      case SL_ERR_FORMAT: return "bad file format";
      case SL_ERR_DEVICE: return "device error";
      case SL_ERR_CANCELLED: return "cancelled";
      case SL_ERR_DIVERGED: return "training diverged";
      case SL_ERR_LIMIT: return "over a limit";
    }
  return "unknown status";
}

const char *
sl_version_string (void)
{
  return SL_VERSION_STRING;
}

int
sl_version_number (void)
{
  return SL_VERSION_MAJOR * 10000 + SL_VERSION_MINOR * 100 + SL_VERSION_MICRO;
}

void
sl_free (void *ptr)
{
  free (ptr);
}

sl_status
sl_error_set (sl_error *err, sl_status code, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return code;
  err->code = code;
  va_start (ap, fmt);
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  va_end (ap);
  return code;
}

sl_status
sl_error_set_errno (sl_error *err, sl_status code, const char *fmt, ...)
{
  int saved = errno;
  size_t len;
  va_list ap;

  if (err == NULL)
    return code;
  err->code = code;
  va_start (ap, fmt);
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  va_end (ap);
  len = strlen (err->message);
  snprintf (err->message + len, sizeof err->message - len, ": %s", strerror (saved));
  return code;
}

void
sl_error_prefix (sl_error *err, const char *fmt, ...)
{
  char prefix[128], old[sizeof err->message];
  va_list ap;

  if (err == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  memcpy (old, err->message, sizeof old);
  snprintf (err->message, sizeof err->message, "%s: %s", prefix, old);
}

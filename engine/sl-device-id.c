/* sl-device-id.c: the one reader of device ids: "cpu", "cuda", "cuda:N". */
#include "sl-error-private.h"

#include <stdio.h>
#include <strings.h>

/* cuda:N takes at most this many digits: far beyond any real GPU count, and
 * never an overflow. */
#define MAX_ORDINAL_DIGITS 7

static sl_status
bad_id (const char *id, sl_error *err)
{
  if (id == NULL || id[0] == '\0')
    return sl_error_set (err, SL_ERR_INVALID,
                         "no device named: use cpu, cuda (the first usable GPU) or cuda:N");
  return sl_error_set (err, SL_ERR_INVALID,
                       "unknown device '%.64s': use cpu, cuda (the first usable GPU) or cuda:N "
                       "(N the GPU's number, as sightline-cli devices lists it)",
                       id);
}

sl_status
sl_device_id_parse (const char *id, sl_device_kind *kind, int *index, sl_error *err)
{
  sl_device_kind k = SL_DEVICE_CUDA;
  int n = -1, digits = 0;

  if (id == NULL)
    return bad_id (id, err);
  if (strcasecmp (id, "cpu") == 0)
    {
      k = SL_DEVICE_CPU;
      n = 0;
    }
  else if (strcasecmp (id, "cuda") != 0)
    {
      if (strncasecmp (id, "cuda:", 5) != 0)
        return bad_id (id, err);
      n = 0;
      for (const char *p = id + 5; *p != '\0'; p++, digits++)
        {
          if (*p < '0' || *p > '9' || digits == MAX_ORDINAL_DIGITS)
            return bad_id (id, err);
          n = n * 10 + (*p - '0');
        }
      if (digits == 0)
        return bad_id (id, err);
    }
  if (kind != NULL)
    *kind = k;
  if (index != NULL)
    *index = n;
  return SL_OK;
}

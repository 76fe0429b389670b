/* sl-error-private.h: filling sl_error with a message a user can act on. */
#pragma once

#include "sightline.h"

SL_BEGIN_DECLS

#if defined(__GNUC__)
#define SL_PRINTF(a, b) __attribute__ ((format (printf, a, b)))
#else
#define SL_PRINTF(a, b)
#endif

/* Sets err (if not NULL) and returns code, so callers can `return sl_error_set (...)`. */
sl_status sl_error_set (sl_error *err, sl_status code, const char *fmt, ...) SL_PRINTF (3, 4);
/* Same, with ": <strerror (errno)>" appended. */
sl_status sl_error_set_errno (sl_error *err, sl_status code, const char *fmt, ...) SL_PRINTF (3, 4);
/* Puts "<prefix>: " in front of an already filled message. */
void sl_error_prefix (sl_error *err, const char *fmt, ...) SL_PRINTF (2, 3);

SL_END_DECLS

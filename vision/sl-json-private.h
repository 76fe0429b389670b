/* sl-json-private.h: cJSON helpers that keep numbers exact through a JSON round trip. */
#pragma once

#include <cjson/cJSON.h>

/* A number written with the fewest digits that read back as exactly v
 * (cJSON's own printing may drop the last bit). */
cJSON *_sl_json_exact_number (double v);
cJSON *_sl_json_exact_array (const double *v, int n);

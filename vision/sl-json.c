/* sl-json.c: exact number printing for the vision layer's JSON (pipelines, augmentation settings). */
#include "sl-json-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *
_sl_json_exact_number (double v)
{
  char buf[32];

  if (!isfinite (v))
    return cJSON_CreateNull ();
  for (int digits = 15; digits <= 17; digits++)
    {
      snprintf (buf, sizeof buf, "%.*g", digits, v);
      if (strtod (buf, NULL) == v)
        break;
    }
  return cJSON_CreateRaw (buf);
}

cJSON *
_sl_json_exact_array (const double *v, int n)
{
  cJSON *a = cJSON_CreateArray ();

  for (int i = 0; a && i < n; i++)
    cJSON_AddItemToArray (a, _sl_json_exact_number (v[i]));
  return a;
}

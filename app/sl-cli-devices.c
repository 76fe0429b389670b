/* sl-cli-devices.c: `sightline-cli devices`: the compute devices training can use, and why a GPU is not. */
#include "sl-cli-private.h"

#include <stdio.h>
#include <string.h>

#include "sightline.h"

/* CUDA writes versions as major * 1000 + minor * 10 (13000 is 13.0). */
static char *
cuda_version (int version)
{
  if (version <= 0)
    return g_strdup ("unknown");
  return g_strdup_printf ("%d.%d", version / 1000, (version % 1000) / 10);
}

/* "40.0 GiB" with a plain space: GLib's no-break space would upset the column widths. */
static char *
format_memory (guint64 bytes)
{
  g_autofree char *text = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_auto (GStrv) parts = g_strsplit (text, "\u00a0", -1);

  return g_strjoinv (" ", parts);
}

static char *
compute_column (const sl_device_info *d)
{
  if (d->kind == SL_DEVICE_CPU)
    return g_strdup_printf ("%d thread%s", d->threads, d->threads == 1 ? "" : "s");
  return g_strdup_printf ("compute %d.%d", d->compute_major, d->compute_minor);
}

static void
print_table (const sl_device_list *list)
{
  size_t n = sl_device_list_count (list);
  int name_width = 4, compute_width = 7;
  const char *gpu_status = sl_device_list_gpu_status (list);

  for (size_t i = 0; i < n; i++)
    {
      const sl_device_info *d = sl_device_list_get (list, i);
      g_autofree char *compute = compute_column (d);

      name_width = MAX (name_width, (int) g_utf8_strlen (d->name, -1));
      compute_width = MAX (compute_width, (int) strlen (compute));
    }
  name_width = MIN (name_width, 48);
  printf ("%-8s  %-*s  %10s  %-*s  %s\n", "ID", name_width, "NAME", "MEMORY", compute_width,
          "COMPUTE", "STATUS");
  for (size_t i = 0; i < n; i++)
    {
      const sl_device_info *d = sl_device_list_get (list, i);
      g_autofree char *memory = format_memory (d->memory_bytes);
      g_autofree char *compute = compute_column (d);
      g_autofree char *status
          = d->usable ? g_strdup ("usable") : g_strdup_printf ("not usable: %s", d->reason);

      printf ("%-8s  %-*.*s  %10s  %-*s  %s\n", d->id, name_width, name_width, d->name, memory,
              compute_width, compute, status);
    }
  for (size_t i = 0; i < n; i++)
    {
      const sl_device_info *d = sl_device_list_get (list, i);
      g_autofree char *driver = NULL, *runtime = NULL;

      if (d->kind != SL_DEVICE_CUDA)
        continue;
      driver = cuda_version (d->driver_version);
      runtime = cuda_version (d->runtime_version);
      printf ("%s%s: CUDA driver %s, runtime %s\n", d->index == 0 ? "\n" : "", d->id, driver,
              runtime);
    }
  if (gpu_status[0] != '\0')
    printf ("\n%s\n", gpu_status);
}

static cJSON *
device_json (const sl_device_info *d)
{
  cJSON *obj = cJSON_CreateObject ();

  cJSON_AddStringToObject (obj, "id", d->id);
  cJSON_AddStringToObject (obj, "kind", d->kind == SL_DEVICE_CPU ? "cpu" : "cuda");
  cJSON_AddNumberToObject (obj, "index", d->index);
  cJSON_AddStringToObject (obj, "name", d->name);
  cJSON_AddNumberToObject (obj, "memory_bytes", (double) d->memory_bytes);
  if (d->kind == SL_DEVICE_CPU)
    cJSON_AddNumberToObject (obj, "threads", d->threads);
  else
    {
      g_autofree char *cc = g_strdup_printf ("%d.%d", d->compute_major, d->compute_minor);

      cJSON_AddStringToObject (obj, "compute_capability", cc);
      cJSON_AddNumberToObject (obj, "driver_version", d->driver_version);
      cJSON_AddNumberToObject (obj, "runtime_version", d->runtime_version);
    }
  cJSON_AddBoolToObject (obj, "usable", d->usable);
  if (!d->usable)
    cJSON_AddStringToObject (obj, "reason", d->reason);
  return obj;
}

int
_sl_cli_devices (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts and tools", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  sl_device_list *list = NULL;
  sl_error err = { 0 };
  int status;

  g_option_context_set_summary (
      context, "Lists the devices training can use: the CPU and each NVIDIA GPU, with its memory "
               "and compute capability,\nand says why a GPU cannot be used. "
               "$SIGHTLINE_CUDA_MODULE_DIR names the folder of libsightline-cuda.so.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return _sl_cli_usage ("devices", "unexpected argument");
  if (sl_device_registry_get (&list, &err) != SL_OK)
    {
      fprintf (stderr, "sightline-cli devices: %s\n", err.message);
      return 1;
    }
  if (json)
    {
      cJSON *array = cJSON_CreateArray ();

      gboolean any_gpu = FALSE;

      for (size_t i = 0; i < sl_device_list_count (list); i++)
        {
          const sl_device_info *d = sl_device_list_get (list, i);

          any_gpu |= d->kind != SL_DEVICE_CPU;
          cJSON_AddItemToArray (array, device_json (d));
        }
      if (!any_gpu && sl_device_list_gpu_reason (list)[0] != '\0')
        {
          /* No GPU at all: an entry that says why, as an unusable GPU's does, and what follows. */
          cJSON *none = cJSON_CreateObject ();

          cJSON_AddStringToObject (none, "id", "cuda");
          cJSON_AddStringToObject (none, "kind", "cuda");
          cJSON_AddNumberToObject (none, "index", -1);
          cJSON_AddStringToObject (none, "name", "No NVIDIA GPU");
          cJSON_AddBoolToObject (none, "usable", FALSE);
          cJSON_AddStringToObject (none, "reason", sl_device_list_gpu_reason (list));
          cJSON_AddStringToObject (none, "consequence", sl_device_list_gpu_consequence (list));
          cJSON_AddItemToArray (array, none);
        }
      _sl_cli_print_json (array);
    }
  else
    print_table (list);
  sl_device_list_free (list);
  return 0;
}

/* sl-device.c: the device list: the CPU, and the GPUs of the CUDA backend module opened at run time. */
#define _GNU_SOURCE /* dladdr, sched_getaffinity */

#include "sl-backend-module-private.h"
#include "sl-device-private.h"
#include "sl-error-private.h"

#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Folders searched for the module: the override, the runtime's folder and its
 * sightline/ subfolder, the program's folder and its ../lib. */
#define MAX_SEARCH_DIRS 5
#define GPU_REASON_LEN  1024
/* What a missing GPU means, kept apart from why it is missing: a caller that
 * asked for a GPU gets the reason as an error instead. */
#define GPU_CONSEQUENCE "training uses the CPU"

/* Read-only once made, apart from refs: any thread may read it. */
struct sl_device_list
{
  sl_device_info *devices;
  size_t count;
  void *module_handle; /* dlopen handle of the CUDA module, or NULL */
  const sl_backend_module *module;
  char module_path[PATH_MAX]; /* the module's file: the self-check's key */
  char gpu_reason[GPU_REASON_LEN];
  char gpu_status[GPU_REASON_LEN + sizeof " — " GPU_CONSEQUENCE "."];
  int refs; /* the caller's, plus one per model computing with the module */
};

static void
copy_string (char *dst, size_t len, const char *src)
{
  snprintf (dst, len, "%s", src != NULL ? src : "");
}

/* Collapses runs of white space and trims both ends, in place. */
static void
squeeze_spaces (char *s)
{
  char *out = s;
  bool space = true;

  for (const char *in = s; *in != '\0'; in++)
    {
      if (isspace ((unsigned char) *in))
        {
          if (!space)
            *out++ = ' ';
          space = true;
        }
      else
        {
          *out++ = *in;
          space = false;
        }
    }
  if (out > s && out[-1] == ' ')
    out--;
  *out = '\0';
}

/* ---- The CPU ------------------------------------------------------------------ */

/* Whether line is "key : value" with exactly this key ("model name", not "model name2"). */
static const char *
field_value (const char *line, const char *key)
{
  size_t key_len = strlen (key);
  const char *colon;

  if (strncmp (line, key, key_len) != 0 || (colon = strchr (line, ':')) == NULL)
    return NULL;
  for (const char *p = line + key_len; p < colon; p++)
    if (!isspace ((unsigned char) *p))
      return NULL;
  return colon + 1;
}

/* The non-empty value of the first "key : value" line of a /proc file, or false. */
static bool
read_proc_field (const char *path, const char *key, char *value, size_t len)
{
  char line[512];
  bool found = false;
  FILE *f = fopen (path, "re");

  if (f == NULL)
    return false;
  while (!found && fgets (line, sizeof line, f) != NULL)
    {
      const char *v = field_value (line, key);

      if (v == NULL)
        continue;
      copy_string (value, len, v);
      squeeze_spaces (value);
      found = value[0] != '\0';
    }
  fclose (f);
  return found;
}

static void
cpu_name (char *name, size_t len)
{
  struct utsname u;

  /* x86 says "model name"; some ARM and POWER kernels "Model", "Hardware" or "cpu". */
  if (read_proc_field ("/proc/cpuinfo", "model name", name, len)
      || read_proc_field ("/proc/cpuinfo", "Model", name, len)
      || read_proc_field ("/proc/cpuinfo", "Hardware", name, len)
      || read_proc_field ("/proc/cpuinfo", "cpu", name, len))
    return;
  if (uname (&u) == 0)
    snprintf (name, len, "%s processor", u.machine);
  else
    copy_string (name, len, "Unknown processor");
}

static uint64_t
cpu_memory (void)
{
  char value[64];
  long pages = sysconf (_SC_PHYS_PAGES), page_size = sysconf (_SC_PAGESIZE);

  if (read_proc_field ("/proc/meminfo", "MemTotal", value, sizeof value))
    {
      unsigned long long kib = strtoull (value, NULL, 10);

      if (kib > 0)
        return (uint64_t) kib * 1024;
    }
  return pages > 0 && page_size > 0 ? (uint64_t) pages * (uint64_t) page_size : 0;
}

/* Logical cores this process may run on (taskset, cgroups cpusets). */
static int
cpu_threads (void)
{
  long online = sysconf (_SC_NPROCESSORS_ONLN);

  for (int n = 1024; n <= 1 << 16; n *= 4)
    {
      size_t size = CPU_ALLOC_SIZE (n);
      cpu_set_t *set = CPU_ALLOC (n);
      int count = 0;

      if (set == NULL)
        break;
      CPU_ZERO_S (size, set);
      if (sched_getaffinity (0, size, set) == 0)
        count = CPU_COUNT_S (size, set);
      CPU_FREE (set);
      if (count > 0)
        return count;
    }
  return online > 0 ? (int) online : 1;
}

static void
fill_cpu (sl_device_info *cpu)
{
  memset (cpu, 0, sizeof *cpu);
  cpu->kind = SL_DEVICE_CPU;
  cpu->index = 0;
  copy_string (cpu->id, sizeof cpu->id, "cpu");
  cpu_name (cpu->name, sizeof cpu->name);
  cpu->memory_bytes = cpu_memory ();
  cpu->threads = cpu_threads ();
  cpu->usable = true;
}

/* ---- Finding and opening the CUDA module ---------------------------------------- */

typedef struct
{
  char dirs[MAX_SEARCH_DIRS][PATH_MAX];
  int n;
} SearchPath;

static void
search_add (SearchPath *sp, const char *dir)
{
  char real[PATH_MAX];
  const char *use = dir;

  if (sp->n >= MAX_SEARCH_DIRS)
    return;
  /* Canonical names, so one folder reached two ways is searched (and listed) once. */
  if (realpath (dir, real) != NULL)
    use = real;
  for (int i = 0; i < sp->n; i++)
    if (strcmp (sp->dirs[i], use) == 0)
      return;
  copy_string (sp->dirs[sp->n++], PATH_MAX, use);
}

/* The canonical folder of a file (in dir); false when there is none. */
static bool
folder_of (const char *file, char *dir)
{
  char path[PATH_MAX];
  char *slash;

  if (file == NULL || strlen (file) >= sizeof path || realpath (file, path) == NULL)
    return false;
  slash = strrchr (path, '/');
  if (slash == NULL)
    return false;
  slash[slash == path ? 1 : 0] = '\0';
  copy_string (dir, PATH_MAX, path);
  return true;
}

/* Adds dir, then dir/sub (sub may start with "../": taken off dir by name). */
static void
search_add_pair (SearchPath *sp, const char *dir, const char *sub)
{
  char base[PATH_MAX], joined[PATH_MAX];

  search_add (sp, dir);
  copy_string (base, sizeof base, dir);
  if (strncmp (sub, "../", 3) == 0)
    {
      char *slash = strrchr (base, '/');

      if (slash == NULL || slash == base)
        return;
      *slash = '\0';
      sub += 3;
    }
  if (snprintf (joined, sizeof joined, "%s/%s", base, sub) < (int) sizeof joined)
    search_add (sp, joined);
}

static void
search_path_init (SearchPath *sp)
{
  const char *override = getenv ("SIGHTLINE_CUDA_MODULE_DIR");
  char dir[PATH_MAX];
  Dl_info info;

  memset (sp, 0, sizeof *sp);
  if (override != NULL && override[0] != '\0')
    {
      /* An explicit folder is the only one: tests and users can pin (or rule out) a module. */
      search_add (sp, override);
      return;
    }
  if (dladdr ((void *) sl_device_list_new, &info) != 0 && folder_of (info.dli_fname, dir))
    search_add_pair (sp, dir, "sightline");
  if (folder_of ("/proc/self/exe", dir))
    search_add_pair (sp, dir, "../lib");
}

/* Writes the folders as "a, b and c" into buf. */
static void
format_dirs (const SearchPath *sp, char *buf, size_t len)
{
  size_t used = 0;

  buf[0] = '\0';
  for (int i = 0; i < sp->n && used < len; i++)
    {
      const char *sep = i == 0 ? "" : i == sp->n - 1 ? " and " : ", ";
      int n = snprintf (buf + used, len - used, "%s%s", sep, sp->dirs[i]);

      if (n < 0)
        break;
      used += (size_t) n;
    }
}

static void set_gpu_reason (sl_device_list *list, const char *fmt, ...) SL_PRINTF (2, 3);

/* Why no GPU can be used: a sentence of its own, ending in a full stop. */
static void
set_gpu_reason (sl_device_list *list, const char *fmt, ...)
{
  size_t len;
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (list->gpu_reason, sizeof list->gpu_reason, fmt, ap);
  va_end (ap);
  len = strlen (list->gpu_reason);
  if (len > 0 && len + 1 < sizeof list->gpu_reason
      && strchr (".!?", list->gpu_reason[len - 1]) == NULL)
    memcpy (list->gpu_reason + len, ".", 2);
}

/* The reason and its consequence as one sentence: "<reason> — training uses the CPU." */
static void
compose_gpu_status (sl_device_list *list)
{
  int len = (int) strlen (list->gpu_reason);

  list->gpu_status[0] = '\0';
  if (len == 0)
    return;
  if (list->gpu_reason[len - 1] == '.')
    len--;
  snprintf (list->gpu_status, sizeof list->gpu_status, "%.*s — %s.", len, list->gpu_reason,
            GPU_CONSEQUENCE);
}

/* Opens the module at path and checks its table; on failure says why in gpu_status. */
static bool
open_module (sl_device_list *list, const char *path)
{
  sl_backend_module_entry_fn entry;
  const sl_backend_module *module;
  const char *why;
  void *handle;

  dlerror ();
  /* Never unloaded: the CUDA libraries it pulls in do not survive being
   * unloaded and loaded again in one process. */
  handle = dlopen (path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == NULL)
    {
      why = dlerror ();
      set_gpu_reason (list,
                      "The CUDA backend module %s could not be loaded: %s. Install the NVIDIA "
                      "CUDA runtime, cuBLAS and cuDNN it needs.",
                      path, why != NULL ? why : "unknown error");
      return false;
    }
  *(void **) &entry = dlsym (handle, SL_CUDA_MODULE_ENTRY);
  module = entry != NULL ? entry () : NULL;
  if (module == NULL)
    {
      set_gpu_reason (list,
                      "%s is not a Sightline CUDA backend module (it has no %s table). "
                      "Reinstall Sightline.",
                      path, SL_CUDA_MODULE_ENTRY);
      dlclose (handle);
      return false;
    }
  if (module->abi_version != SL_BACKEND_ABI_VERSION)
    {
      set_gpu_reason (list,
                      "The CUDA backend module %s was built for another version of Sightline "
                      "(backend ABI %d, this one needs %d). Install the module that came with "
                      "this Sightline.",
                      path, module->abi_version, SL_BACKEND_ABI_VERSION);
      dlclose (handle);
      return false;
    }
  if (module->device_count == NULL || module->device_info == NULL)
    {
      set_gpu_reason (list,
                      "The CUDA backend module %s is incomplete (no device functions). "
                      "Reinstall Sightline.",
                      path);
      dlclose (handle);
      return false;
    }
  list->module_handle = handle;
  list->module = module;
  copy_string (list->module_path, sizeof list->module_path, path);
  return true;
}

/* Finds and opens the module; false with gpu_status saying why not. */
static bool
load_module (sl_device_list *list)
{
  SearchPath sp;
  char path[PATH_MAX + sizeof SL_CUDA_MODULE_NAME + 1], dirs[768];

  search_path_init (&sp);
  for (int i = 0; i < sp.n; i++)
    {
      snprintf (path, sizeof path, "%s/%s", sp.dirs[i], SL_CUDA_MODULE_NAME);
      if (access (path, F_OK) == 0)
        return open_module (list, path);
    }
  format_dirs (&sp, dirs, sizeof dirs);
  set_gpu_reason (list,
                  "The CUDA backend module (%s) is not installed beside Sightline. Looked in %s.",
                  SL_CUDA_MODULE_NAME, sp.n > 0 ? dirs : "no folder");
  return false;
}

/* ---- The list ------------------------------------------------------------------- */

static sl_status
add_gpus (sl_device_list *list, sl_error *err)
{
  char reason[256] = "";
  int count = list->module->device_count (reason, sizeof reason);
  sl_device_info *grown;
  size_t usable = 0;

  if (count <= 0)
    {
      if (reason[0] == '\0')
        copy_string (reason, sizeof reason, "no NVIDIA GPU was found");
      set_gpu_reason (list, "No GPU: %s", reason);
      return SL_OK;
    }
  grown = realloc (list->devices, sizeof *grown * (list->count + (size_t) count));
  if (grown == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "Out of memory while listing the GPUs.");
  list->devices = grown;
  for (int i = 0; i < count; i++)
    {
      sl_device_info *d = &list->devices[list->count++];

      memset (d, 0, sizeof *d);
      if (!list->module->device_info (i, d))
        {
          memset (d, 0, sizeof *d);
          snprintf (d->name, sizeof d->name, "GPU %d", i);
          copy_string (d->reason, sizeof d->reason,
                       "The driver could not describe this GPU; check it with nvidia-smi.");
          d->usable = false;
        }
      /* The runtime owns the identity fields, whatever the module wrote. */
      d->kind = SL_DEVICE_CUDA;
      d->index = i;
      d->threads = 0;
      snprintf (d->id, sizeof d->id, "cuda:%d", i);
      d->name[sizeof d->name - 1] = '\0';
      d->reason[sizeof d->reason - 1] = '\0';
      if (d->usable)
        {
          d->reason[0] = '\0';
          usable++;
        }
      else if (d->reason[0] == '\0')
        copy_string (d->reason, sizeof d->reason, "This GPU cannot be used for training.");
    }
  if (usable == 0)
    {
      const sl_device_info *first = &list->devices[1];

      set_gpu_reason (list, "No usable GPU: %s (%s): %s", first->id, first->name, first->reason);
    }
  return SL_OK;
}

sl_status
sl_device_list_new (sl_device_list **out, sl_error *err)
{
  sl_device_list *list;
  sl_status st;

  if (out == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "sl_device_list_new: out is NULL.");
  *out = NULL;
  list = calloc (1, sizeof *list);
  if (list == NULL || (list->devices = calloc (1, sizeof *list->devices)) == NULL)
    {
      free (list);
      return sl_error_set (err, SL_ERR_NOMEM, "Out of memory while listing the devices.");
    }
  fill_cpu (&list->devices[0]);
  list->count = 1;
  list->refs = 1;
  if (load_module (list) && (st = add_gpus (list, err)) != SL_OK)
    {
      sl_device_list_free (list);
      return st;
    }
  compose_gpu_status (list);
  *out = list;
  return SL_OK;
}

sl_device_list *
_sl_device_list_ref (sl_device_list *list)
{
  if (list != NULL)
    __atomic_add_fetch (&list->refs, 1, __ATOMIC_RELAXED);
  return list;
}

void
sl_device_list_free (sl_device_list *list)
{
  if (list == NULL || __atomic_sub_fetch (&list->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  if (list->module_handle != NULL)
    dlclose (list->module_handle);
  free (list->devices);
  free (list);
}

sl_status
_sl_device_list_backend_new (sl_device_list *list, size_t index, int threads, bool self_check,
                             sl_backend **out, sl_error *err)
{
  const sl_device_info *d;
  sl_status st;

  *out = NULL;
  if (list == NULL || index >= list->count)
    return sl_error_set (err, SL_ERR_INVALID, "no device %zu in the device list", index);
  d = &list->devices[index];
  if (d->kind == SL_DEVICE_CPU)
    return _sl_cpu_backend_new (threads, out, err);
  if (!d->usable)
    return sl_error_set (err, SL_ERR_DEVICE, "%s (%s) cannot be used: %s", d->id, d->name,
                         d->reason);
  if (list->module->backend_new == NULL)
    return sl_error_set (err, SL_ERR_DEVICE, "the CUDA backend module cannot create backends");
  if (self_check && (st = _sl_device_self_check (list, index, err)) != SL_OK)
    return st;
  st = list->module->backend_new (d->index, out, err);
  if (st == SL_OK
      && (*out == NULL || (*out)->ops == NULL
          || (*out)->ops->abi_version != SL_BACKEND_ABI_VERSION))
    {
      /* A module that passed the table's ABI check but hands out another: refuse it. */
      if (*out != NULL && (*out)->ops != NULL)
        (*out)->ops->destroy (*out);
      *out = NULL;
      return sl_error_set (err, SL_ERR_DEVICE,
                           "the CUDA backend module returned an unusable backend for %s; "
                           "reinstall Sightline",
                           d->id);
    }
  return st;
}

size_t
sl_device_list_count (const sl_device_list *list)
{
  return list != NULL ? list->count : 0;
}

const sl_device_info *
sl_device_list_get (const sl_device_list *list, size_t i)
{
  return list != NULL && i < list->count ? &list->devices[i] : NULL;
}

const sl_device_info *
sl_device_list_find (const sl_device_list *list, const char *id)
{
  const sl_device_info *first_gpu = NULL;
  sl_device_kind kind;
  int index;

  if (list == NULL || sl_device_id_parse (id, &kind, &index, NULL) != SL_OK)
    return NULL;
  for (size_t i = 0; i < list->count; i++)
    {
      const sl_device_info *d = &list->devices[i];

      if (d->kind != kind)
        continue;
      if (kind == SL_DEVICE_CPU || d->index == index || (index < 0 && d->usable))
        return d;
      if (index < 0 && first_gpu == NULL)
        first_gpu = d;
    }
  return first_gpu;
}

const char *
sl_device_list_gpu_reason (const sl_device_list *list)
{
  return list != NULL ? list->gpu_reason : "";
}

const char *
sl_device_list_gpu_consequence (const sl_device_list *list)
{
  return list != NULL && list->gpu_reason[0] != '\0' ? GPU_CONSEQUENCE : "";
}

const char *
sl_device_list_gpu_status (const sl_device_list *list)
{
  return list != NULL ? list->gpu_status : "";
}

const char *
_sl_device_list_module_path (const sl_device_list *list)
{
  return list != NULL && list->module != NULL ? list->module_path : NULL;
}

const sl_backend_module *
_sl_device_list_cuda_module (const sl_device_list *list)
{
  return list != NULL ? list->module : NULL;
}

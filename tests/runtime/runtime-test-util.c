/* runtime-test-util.c: the runtime tests' shared model and images, program runs, a CSV reader and an ELF reader. */
#include "runtime-test-util.h"
#include "sl-test-support.h"

#include <elf.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sl-files.h"

#define N_IMAGES    20
#define TRAIN_STEPS 20

static RtFixture fixture;
static gboolean fixture_ready;

static void
fixture_free (void)
{
  sl_classifier_free (fixture.classifier);
  if (fixture.dir != NULL)
    sl_remove_tree (fixture.dir);
  g_free (fixture.dir);
  g_free (fixture.model);
  g_free (fixture.images_dir);
  g_strfreev (fixture.images);
}

const RtFixture *
rt_fixture (void)
{
  sl_error err = { 0 };

  if (fixture_ready)
    return &fixture;
  fixture.dir = g_dir_make_tmp ("sl-runtime-XXXXXX", NULL);
  g_assert_nonnull (fixture.dir);
  atexit (fixture_free);
  fixture.model = g_build_filename (fixture.dir, "fmnist.slmodel", NULL);
  fixture.images_dir = g_build_filename (fixture.dir, "images", NULL);
  g_assert_cmpint (g_mkdir (fixture.images_dir, 0755), ==, 0);
  if (!sl_test_make_slmodel ("small-bn", TRAIN_STEPS, fixture.model))
    return NULL;
  fixture.images = sl_test_write_fmnist_pngs (fixture.images_dir, N_IMAGES, NULL);
  if (fixture.images == NULL)
    return NULL;
  fixture.n_images = N_IMAGES;
  sl_assert_ok (sl_classifier_open (fixture.model, NULL, &fixture.classifier, &err), &err);
  fixture_ready = TRUE;
  return &fixture;
}

/* Runs in the child between fork and exec: stdin from the named file. */
static void
redirect_stdin (gpointer user_data)
{
  int fd = open (user_data, O_RDONLY);

  if (fd >= 0)
    {
      dup2 (fd, STDIN_FILENO);
      close (fd);
    }
}

RtRun
rt_runv (const char *env_var, const char *stdin_path, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const char *program = g_getenv (env_var);
  RtRun r = { 0 };
  int wait;

  if (program == NULL)
    g_error ("%s is not set: run the test through meson test", env_var);
  g_ptr_array_add (argv, (char *) program);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                               stdin_path != NULL ? G_SPAWN_CHILD_INHERITS_STDIN : G_SPAWN_DEFAULT,
                               stdin_path != NULL ? redirect_stdin : NULL, (gpointer) stdin_path,
                               &r.out, &r.err, &wait, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait));
  r.status = WEXITSTATUS (wait);
  return r;
}

RtRun
rt_run (const char *env_var, const char *stdin_path, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return rt_runv (env_var, stdin_path, (const char *const *) args->pdata);
}

void
rt_run_clear (RtRun *run)
{
  g_free (run->out);
  g_free (run->err);
  memset (run, 0, sizeof *run);
}

GPtrArray *
rt_csv_parse (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  GPtrArray *row = g_ptr_array_new ();
  GString *field = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      if (*p == '"')
        {
          /* A quoted field: "" is a quote; it ends at the lone closing quote. */
          for (p++; *p != '\0' && !(p[0] == '"' && p[1] != '"'); p++)
            {
              if (p[0] == '"')
                p++;
              g_string_append_c (field, *p);
            }
          g_assert_cmpint (*p, ==, '"');
          p++;
        }
      else
        for (; *p != '\0' && *p != ',' && *p != '\n'; p++)
          g_string_append_c (field, *p);
      g_ptr_array_add (row, g_string_free (field, FALSE));
      field = g_string_new (NULL);
      if (*p == ',')
        p++;
      else
        {
          g_assert_cmpint (*p, ==, '\n'); /* every row ends with a newline */
          p++;
          g_ptr_array_add (row, NULL);
          g_ptr_array_add (rows, g_ptr_array_free (row, FALSE));
          row = g_ptr_array_new ();
        }
    }
  g_assert_cmpuint (row->len, ==, 0);
  g_ptr_array_free (row, TRUE);
  g_string_free (field, TRUE);
  return rows;
}

/* The file offset of a virtual address, through the PT_LOAD segments. */
static gsize
elf_offset (const Elf64_Ehdr *eh, const guint8 *data, Elf64_Addr addr)
{
  const Elf64_Phdr *ph = (const Elf64_Phdr *) (data + eh->e_phoff);

  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && addr >= ph[i].p_vaddr && addr < ph[i].p_vaddr + ph[i].p_filesz)
      return addr - ph[i].p_vaddr + ph[i].p_offset;
  g_error ("ELF address 0x%lx is in no loaded segment", (unsigned long) addr);
  return 0;
}

char **
rt_elf_needed (const char *path)
{
  g_autofree guint8 *data = NULL;
  g_autoptr (GPtrArray) needed = g_ptr_array_new ();
  const Elf64_Ehdr *eh;
  const Elf64_Phdr *ph;
  const Elf64_Dyn *dyn = NULL;
  gsize size, strtab = 0;

  g_assert_true (g_file_get_contents (path, (char **) &data, &size, NULL));
  g_assert_cmpuint (size, >=, sizeof *eh);
  eh = (const Elf64_Ehdr *) data;
  g_assert_true (memcmp (eh->e_ident, ELFMAG, SELFMAG) == 0);
  g_assert_cmpint (eh->e_ident[EI_CLASS], ==, ELFCLASS64);
  g_assert_cmpuint (eh->e_phoff + (gsize) eh->e_phnum * sizeof *ph, <=, size);
  ph = (const Elf64_Phdr *) (data + eh->e_phoff);
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC)
      dyn = (const Elf64_Dyn *) (data + ph[i].p_offset);
  g_assert_nonnull (dyn);
  for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_STRTAB)
      strtab = elf_offset (eh, data, d->d_un.d_ptr);
  g_assert_cmpuint (strtab, >, 0);
  for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_NEEDED)
      {
        g_assert_cmpuint (strtab + d->d_un.d_val, <, size);
        g_ptr_array_add (needed, g_strdup ((const char *) data + strtab + d->d_un.d_val));
      }
  g_ptr_array_add (needed, NULL);
  return (char **) g_ptr_array_steal (needed, NULL);
}

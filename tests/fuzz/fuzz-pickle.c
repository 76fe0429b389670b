/* fuzz-pickle.c: libFuzzer target for the backbone converter's readers: PyTorch pickles and wheels (ZIP).
 *
 * Every input goes to sl_torch_load_state_dict as a .pth and to sl_zip_open as a wheel (each
 * member then read with a 64 MiB cap). Beyond the sanitizers it checks the readers' promises:
 * a failure fills the error and returns nothing; a state dict's tensors fit their shapes and
 * together stay within a small multiple of the input's size (sl-torch-pickle.h). */
#include "sl-torch-pickle.h"
#include "sl-zip.h"

#include <stdio.h>
#include <stdlib.h>

static void
check (int ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz-pickle: broken promise: %s\n", what);
      abort ();
    }
}

static void
fuzz_pickle (const guint8 *data, gsize size)
{
  GError *error = NULL;
  GPtrArray *tensors = sl_torch_load_state_dict (data, size, &error);
  gsize bytes = 0;

  check ((tensors == NULL) == (error != NULL), "a result xor an error");
  g_clear_error (&error);
  if (tensors == NULL)
    return;
  for (guint i = 0; i < tensors->len; i++)
    {
      SlTorchTensor *t = g_ptr_array_index (tensors, i);
      gint64 numel = 1;

      for (int d = 0; d < t->ndim; d++)
        numel *= t->shape[d];
      check (t->name != NULL && numel == t->numel, "a tensor's numel is its shape's product");
      bytes += (gsize) t->numel * (t->dtype == SL_TORCH_FLOAT32 ? 4 : 8);
    }
  check (bytes <= 2 * size + 65536, "the tensors stay within twice the file's size");
  g_ptr_array_unref (tensors);
}

static void
fuzz_zip (const guint8 *data, gsize size)
{
  GError *error = NULL;
  GBytes *bytes = g_bytes_new (data, size);
  SlZip *zip = sl_zip_open (bytes, &error);

  g_bytes_unref (bytes); /* the archive keeps its own reference */
  check ((zip == NULL) == (error != NULL), "an archive xor an error");
  g_clear_error (&error);
  if (zip == NULL)
    return;
  for (guint i = 0; i < sl_zip_count (zip); i++)
    {
      GBytes *member = sl_zip_read (zip, sl_zip_member (zip, i), 64 << 20, &error);

      check ((member == NULL) == (error != NULL), "a member xor an error");
      g_clear_error (&error);
      if (member != NULL)
        g_bytes_unref (member);
    }
  sl_zip_free (zip);
}

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  fuzz_pickle (data, size);
  fuzz_zip (data, size);
  return 0;
}

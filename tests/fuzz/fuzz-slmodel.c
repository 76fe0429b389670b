/* fuzz-slmodel.c: libFuzzer target for the .slmodel loader: opens any bytes as a classifier and predicts once.
 *
 * The target feeds the input as it is to sl_classifier_open_buffer (the
 * container, the model description and the preprocessing pipeline) and, when
 * that succeeds, classifies a small gray frame with it. Beyond the
 * sanitizers it checks the runtime's promises: a failed open fills the error
 * and returns no handle; an opened classifier is within the cost limits it
 * was opened with, has labels for every class and predicts a class it has.
 *
 * A .slmodel carries CRC-32s of its preamble, its header and each weight
 * blob, so nearly every blind mutation would stop at the first checksum. The
 * custom mutator therefore mutates the JSON header (leaving the weights in
 * place) or plants odd floats in the weights, or mutates the whole file, and
 * then, most of the time, repairs the sums and the file size as a writer
 * would. Inputs stay real files: the loader still checks every sum, and
 * 1 mutation in 16 is left unrepaired to keep the checksum paths covered. */
#include "sl-classifier.h"
#include "sl-file-private.h" /* sl_crc32 */

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC    "SLMODEL\x1a"
#define PREAMBLE 32
#define ALIGN    64

/* The format allows 8192x8192 pipelines and huge layers, which cost time
 * and memory but are not bugs: the target opens with limits (as a line PC
 * would, only tighter) so the runtime itself refuses what is too big to run
 * thousands of times a second, and predicts with everything it opens. */
#define MAX_MEMORY (64 * 1000 * 1000)
#define MAX_MFLOPS 40

size_t LLVMFuzzerMutate (uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok, const char *what, const char *message)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz-slmodel: broken promise: %s (%s)\n", what,
               message != NULL ? message : "");
      abort ();
    }
}

/* ---- The target --------------------------------------------------------------- */

static void
predict_once (sl_classifier *c)
{
  enum
  {
    W = 16,
    H = 12
  };
  uint8_t frame[W * H];
  int n = sl_classifier_class_count (c);
  float *probs = calloc ((size_t) n, sizeof (float));
  sl_prediction pred, top[2];
  sl_error err = { 0 };
  sl_status st;

  check (probs != NULL, "allocating the probabilities", NULL);
  for (int i = 0; i < W * H; i++)
    frame[i] = (uint8_t) (i * 7 + (i / W) * 13);
  sl_prediction_init (&pred);
  st = sl_classifier_predict_pixels (c, frame, W, H, 0, SL_PIXEL_GRAY8, &pred, probs, &err);
  if (st != SL_OK)
    {
      check (err.code == st, "the error's code is the status returned", err.message);
      check (err.message[0] != '\0', "a failed prediction explains why", err.message);
    }
  else
    {
      check (pred.class_index >= 0 && pred.class_index < n, "the class is in range", NULL);
      check (pred.label == sl_classifier_class_label (c, pred.class_index),
             "the label is the class's", NULL);
      sl_prediction_init (&top[0]);
      sl_prediction_init (&top[1]);
      check (sl_classifier_top_k (c, probs, 2, top) == 2, "top 2 of >= 2 classes", NULL);
    }
  free (probs);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sl_classifier *c = (sl_classifier *) &c; /* must be reset to NULL on failure */
  sl_classifier_options options;
  sl_classifier_cost cost;
  sl_error err = { 0 };
  sl_status st;
  int n;

  sl_classifier_options_init (&options);
  options.threads = 1;
  options.max_memory = MAX_MEMORY;
  options.max_mflops = MAX_MFLOPS;
  st = sl_classifier_open_buffer (data, size, &options, &c, &err);

  if (st != SL_OK)
    {
      check (c == NULL, "a failed open returns no classifier", err.message);
      check (memchr (err.message, '\0', sizeof err.message) != NULL,
             "the error message is terminated", NULL);
      check (err.code == st, "the error's code is the status returned", err.message);
      check (err.message[0] != '\0', "a failed open explains why", NULL);
      return 0;
    }
  check (c != NULL, "an open returns a classifier", NULL);
  n = sl_classifier_class_count (c);
  check (n >= 2, "a classifier has two classes or more", NULL);
  for (int i = 0; i < n; i++)
    check (sl_classifier_class_label (c, i) != NULL, "every class has a label", NULL);
  check (sl_classifier_class_label (c, n) == NULL, "no label past the last class", NULL);
  check (sl_classifier_header_json (c) != NULL, "the header is kept", NULL);
  sl_classifier_cost_init (&cost);
  check (sl_classifier_get_cost (c, &cost, &err) == SL_OK, "an open classifier has a cost",
         err.message);
  check (cost.memory_bytes <= MAX_MEMORY && cost.mflops <= MAX_MFLOPS,
         "an open classifier is within its limits", NULL);
  predict_once (c);
  sl_classifier_free (c);
  return 0;
}

/* ---- The mutator --------------------------------------------------------------- */

static uint32_t
get_u32 (const uint8_t *b)
{
  return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static void
put_u32 (uint8_t *b, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t) (v >> (8 * i));
}

static void
put_u64 (uint8_t *b, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t) (v >> (8 * i));
}

static size_t
align_up (size_t v)
{
  return (v + ALIGN - 1) & ~(size_t) (ALIGN - 1);
}

static uint32_t
next_random (uint32_t *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

static bool
is_container (const uint8_t *data, size_t size)
{
  return size >= PREAMBLE && memcmp (data, MAGIC, 8) == 0;
}

/* The header length the preamble gives, or 0 when it cannot be right. */
static size_t
header_length (const uint8_t *data, size_t size)
{
  size_t len = get_u32 (data + 12);

  return len <= size - PREAMBLE ? len : 0;
}

/* Where the header may extend to: the padding before the first weights. */
static size_t
header_room (size_t len, size_t size)
{
  size_t end = align_up (PREAMBLE + len);

  return (end < size ? end : size) - PREAMBLE;
}

/* Mutates the JSON header alone; it may shrink, or grow into the padding,
 * so the weights stay at the offsets the header gives. */
static size_t
mutate_header (uint8_t *data, size_t size)
{
  size_t len = header_length (data, size), room, new_len;

  if (len == 0)
    return 0;
  room = header_room (len, size);
  new_len = LLVMFuzzerMutate (data + PREAMBLE, len, room);
  if (new_len == 0 || new_len > room)
    return 0;
  if (new_len < len)
    memset (data + PREAMBLE + new_len, 0, len - new_len);
  put_u32 (data + 12, (uint32_t) new_len);
  return size;
}

/* Plants values that numeric code trips over in the weights. */
static size_t
mutate_weights (uint8_t *data, size_t size, uint32_t *rnd)
{
  static const float odd[] = { NAN,      -NAN,   INFINITY, -INFINITY, 0.0f,   -0.0f, 3.4e38f,
                               -3.4e38f, 1e-45f, 1e-38f,   1e10f,     -1e10f, 1.0f,  -1.0f };
  size_t len = header_length (data, size), start, floats;
  int k = 1 + (int) (next_random (rnd) % 3);

  if (len == 0)
    return 0;
  start = align_up (PREAMBLE + len);
  if (start >= size || (floats = (size - start) / sizeof (float)) == 0)
    return 0;
  while (k-- > 0)
    {
      float v = odd[next_random (rnd) % (sizeof odd / sizeof odd[0])];

      memcpy (data + start + sizeof (float) * (next_random (rnd) % floats), &v, sizeof v);
    }
  return size;
}

/* Gives each tensor the CRC-32 of the bytes its offset and count name,
 * rewriting the header when one differed (and it still fits). */
static void
repair_tensor_sums (uint8_t *data, size_t size, size_t *len)
{
  cJSON *doc = cJSON_ParseWithLength ((const char *) data + PREAMBLE, *len);
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (doc, "tensors");
  cJSON *t;
  bool changed = false;

  cJSON_ArrayForEach (t, tensors)
  {
    const cJSON *count = cJSON_GetObjectItemCaseSensitive (t, "count");
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive (t, "offset");
    cJSON *crc = cJSON_GetObjectItemCaseSensitive (t, "crc32");
    double c, o;
    uint32_t sum;

    if (!cJSON_IsNumber (count) || !cJSON_IsNumber (offset) || !cJSON_IsNumber (crc))
      continue;
    c = count->valuedouble;
    o = offset->valuedouble;
    if (!(c >= 0 && o >= 0 && o <= (double) size && c == floor (c) && o == floor (o))
        || c > (double) ((size - (size_t) o) / sizeof (float)))
      continue;
    sum = sl_crc32 (0, data + (size_t) o, (size_t) c * sizeof (float));
    if (crc->valuedouble != (double) sum)
      {
        cJSON_SetNumberValue (crc, (double) sum);
        changed = true;
      }
  }
  if (changed)
    {
      char *text = cJSON_PrintUnformatted (doc);
      size_t n = text != NULL ? strlen (text) : 0;

      if (n > 0 && n <= header_room (*len, size))
        {
          memcpy (data + PREAMBLE, text, n);
          if (n < *len)
            memset (data + PREAMBLE + n, 0, *len - n);
          put_u32 (data + 12, (uint32_t) n);
          *len = n;
        }
      cJSON_free (text);
    }
  cJSON_Delete (doc);
}

/* Makes the sums and the file size agree with the bytes, as a writer would. */
static void
repair (uint8_t *data, size_t size)
{
  size_t len;

  if (!is_container (data, size))
    return;
  len = header_length (data, size);
  if (len > 0)
    {
      repair_tensor_sums (data, size, &len);
      put_u32 (data + 24, sl_crc32 (0, data + PREAMBLE, len));
    }
  put_u64 (data + 16, size);
  put_u32 (data + 28, sl_crc32 (0, data, 28));
}

size_t
LLVMFuzzerCustomMutator (uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
  uint32_t rnd = seed;
  uint32_t choice = next_random (&rnd);
  size_t out = 0;

  if (is_container (data, size))
    {
      if (choice % 8 < 4)
        out = mutate_header (data, size);
      else if (choice % 8 == 4)
        out = mutate_weights (data, size, &rnd);
    }
  if (out == 0)
    out = LLVMFuzzerMutate (data, size, max_size);
  if (next_random (&rnd) % 16 != 0)
    repair (data, out);
  return out;
}

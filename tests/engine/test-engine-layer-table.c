/* test-engine-layer-table.c: every layer kind has a complete entry in the layer table. */
#include "sl-layer-private.h"

#include <glib.h>
#include <string.h>

static void
test_every_kind_has_every_function (void)
{
  for (int k = 0; k < SL_LAYER_KIND_COUNT; k++)
    {
      const sl_layer_class *c = _sl_layer_class ((sl_layer_kind) k);

      g_test_message ("kind %d", k);
      g_assert_nonnull (c);
      g_assert_nonnull (c->name);
      g_assert_cmpstr (c->name, !=, "");
      g_assert_nonnull (c->fields);
      g_assert_cmpint (c->n_inputs, >=, 1);
      g_assert_cmpint (c->n_inputs, <=, 2);
      g_assert_nonnull (c->read);
      g_assert_nonnull (c->shape);
      g_assert_nonnull (c->write);
      g_assert_nonnull (c->init);
      g_assert_nonnull (c->plan);
      g_assert_nonnull (c->flops);
      g_assert_nonnull (c->forward);
      g_assert_nonnull (c->backward);
      g_assert_nonnull (c->onnx);
    }
  g_assert_null (_sl_layer_class (SL_LAYER_KIND_COUNT));
}

/* The description names each kind once, and its name leads back to it. */
static void
test_names_are_unique_and_found (void)
{
  char list[512];

  _sl_layer_type_list (list, sizeof list);
  for (int k = 0; k < SL_LAYER_KIND_COUNT; k++)
    {
      const char *name = _sl_layer_class ((sl_layer_kind) k)->name;
      sl_layer_kind found = SL_LAYER_KIND_COUNT;

      g_assert_true (_sl_layer_kind_by_name (name, &found));
      g_assert_cmpint (found, ==, k);
      g_assert_nonnull (strstr (list, name));
      for (int j = 0; j < k; j++)
        g_assert_cmpstr (_sl_layer_class ((sl_layer_kind) j)->name, !=, name);
    }
  g_assert_false (_sl_layer_kind_by_name ("conv3d", &(sl_layer_kind){ 0 }));
  g_assert_cmpstr (list, ==,
                   "conv2d, dense, batchnorm, relu, relu6, leaky_relu, sigmoid, maxpool, avgpool, "
                   "global_avgpool, flatten, dropout, add");
}

/* Only a two-input kind reads "inputs"; an alias owns no buffers, so it
 * cannot also be asked to run in place. */
static void
test_flags_agree_with_fields (void)
{
  for (int k = 0; k < SL_LAYER_KIND_COUNT; k++)
    {
      const sl_layer_class *c = _sl_layer_class ((sl_layer_kind) k);
      bool lists_inputs = strstr (c->fields, "inputs") != NULL;

      g_assert_cmpint (lists_inputs, ==, c->n_inputs == 2);
      g_assert_false ((c->flags & SL_LAYER_ALIAS) && (c->flags & SL_LAYER_IN_PLACE));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/layer-table/every-function", test_every_kind_has_every_function);
  g_test_add_func ("/engine/layer-table/names", test_names_are_unique_and_found);
  g_test_add_func ("/engine/layer-table/flags", test_flags_agree_with_fields);
  return g_test_run ();
}

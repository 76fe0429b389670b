/* test-ui-input-spec.c: the model input editor's transparency controls write the pipeline's alpha rule and show it back. */
#include "sl-input-spec-editor.h"
#include "ui-test-util.h"

#include <string.h>

static void
collect_drop_downs (GtkWidget *w, GPtrArray *out)
{
  if (GTK_IS_DROP_DOWN (w))
    g_ptr_array_add (out, w);
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_drop_downs (c, out);
}

static void
count_edit (gpointer editor, gpointer data)
{
  (*(int *) data)++;
}

static void
test_transparency (void)
{
  GtkWidget *editor = sl_input_spec_editor_new ();
  g_autoptr (GPtrArray) drops = g_ptr_array_new ();
  GtkDropDown *alpha, *background;
  GtkWindow *window;
  sl_pipeline *p;
  sl_alpha_rule rule;
  int edits = 0;

  g_assert_cmpint (sl_pipeline_new (&p, NULL), ==, SL_OK);
  window = ui_test_window_new (editor, 480, 520);
  sl_input_spec_editor_set_pipeline (SL_INPUT_SPEC_EDITOR (editor), p);
  g_signal_connect (editor, "edited", G_CALLBACK (count_edit), &edits);
  collect_drop_downs (editor, drops);
  g_assert_cmpuint (drops->len, ==, 3); /* channels, transparency, background */
  alpha = g_ptr_array_index (drops, 1);
  background = g_ptr_array_index (drops, 2);

  /* A new pipeline flattens onto white. */
  g_assert_cmpuint (gtk_drop_down_get_selected (alpha), ==, SL_ALPHA_COMPOSITE);
  g_assert_cmpuint (gtk_drop_down_get_selected (background), ==, 0);
  g_assert_nonnull (ui_test_find_label (editor, "Transparency"));

  gtk_drop_down_set_selected (alpha, SL_ALPHA_MASK);
  gtk_drop_down_set_selected (background, 1); /* black */
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_MASK);
  g_assert_cmpint (rule.background[0] | rule.background[1] | rule.background[2], ==, 0);
  g_assert_cmpint (edits, ==, 2);

  /* The old behaviour: no background to choose. */
  gtk_drop_down_set_selected (alpha, SL_ALPHA_DROP);
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_DROP);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (background)));

  /* A colour from a pipeline file that is no preset is shown and kept. */
  rule = (sl_alpha_rule){ SL_ALPHA_COMPOSITE, { 10, 20, 30 } };
  g_assert_cmpint (sl_pipeline_set_alpha (p, &rule, NULL), ==, SL_OK);
  sl_input_spec_editor_refresh (SL_INPUT_SPEC_EDITOR (editor));
  g_assert_cmpint (edits, ==, 3); /* refreshing is not an edit */
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (background)));
  g_assert_cmpuint (gtk_drop_down_get_selected (background), ==, 3);
  g_assert_cmpstr (
      gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (background)), 3), ==,
      "Colour 10, 20, 30");
  gtk_drop_down_set_selected (alpha, SL_ALPHA_MASK);
  sl_pipeline_get_alpha (p, &rule);
  g_assert_cmpint (rule.mode, ==, SL_ALPHA_MASK);
  g_assert_cmpint (rule.background[2], ==, 30);
  /* Back to a preset: the custom entry goes. */
  rule.background[0] = rule.background[1] = rule.background[2] = 128;
  g_assert_cmpint (sl_pipeline_set_alpha (p, &rule, NULL), ==, SL_OK);
  sl_input_spec_editor_refresh (SL_INPUT_SPEC_EDITOR (editor));
  g_assert_cmpuint (gtk_drop_down_get_selected (background), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (background)), ==, 3);

  ui_test_spin (100);
  g_free (ui_test_save_screenshot (GTK_WIDGET (window), "input-spec-transparency"));
  sl_input_spec_editor_set_pipeline (SL_INPUT_SPEC_EDITOR (editor), NULL);
  gtk_window_destroy (window);
  sl_pipeline_free (p);
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add_func ("/ui/input-spec/transparency", test_transparency);
  return g_test_run ();
}

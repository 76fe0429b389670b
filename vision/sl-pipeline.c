/* sl-pipeline.c: preprocessing pipelines: editing steps and parameters, validation, applying them. */
#include "sl-pipeline-private.h"
#include "sl-error-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sl_status
sl_pipeline_new (sl_pipeline **out, sl_error *err)
{
  sl_pipeline *p = calloc (1, sizeof *p);

  *out = NULL;
  if (p == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a pipeline");
  p->input.width = 64;
  p->input.height = 64;
  p->input.channels = 1;
  for (int c = 0; c < 3; c++)
    p->input.std[c] = 1.0f;
  /* Transparent parts look like the paper or light table they were cut out on. */
  p->alpha.mode = SL_ALPHA_COMPOSITE;
  memset (p->alpha.background, 255, sizeof p->alpha.background);
  *out = p;
  return SL_OK;
}

void
sl_pipeline_free (sl_pipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  free (pipeline->steps);
  free (pipeline);
}

sl_status
_sl_pipeline_append (sl_pipeline *p, const sl_step *step, sl_error *err)
{
  if (p->n_steps == p->capacity)
    {
      int cap = p->capacity ? 2 * p->capacity : 8;
      sl_step *s = realloc (p->steps, sizeof *s * (size_t) cap);

      if (s == NULL)
        return sl_error_set (err, SL_ERR_NOMEM, "out of memory for a pipeline step");
      p->steps = s;
      p->capacity = cap;
    }
  p->steps[p->n_steps++] = *step;
  return SL_OK;
}

sl_status
sl_pipeline_copy (const sl_pipeline *pipeline, sl_pipeline **out, sl_error *err)
{
  sl_status st = sl_pipeline_new (out, err);

  if (st != SL_OK)
    return st;
  (*out)->input = pipeline->input;
  (*out)->alpha = pipeline->alpha;
  for (int i = 0; i < pipeline->n_steps && st == SL_OK; i++)
    st = _sl_pipeline_append (*out, &pipeline->steps[i], err);
  if (st != SL_OK)
    {
      sl_pipeline_free (*out);
      *out = NULL;
    }
  return st;
}

sl_status
_sl_input_spec_check (const sl_input_spec *s, sl_error *err)
{
  if (s->width < 1 || s->width > 8192 || s->height < 1 || s->height > 8192)
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the model input size %dx%d is outside 1..8192", s->width,
                         s->height);
  if (s->channels != 1 && s->channels != 3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the model takes 1 (gray) or 3 (RGB) channels, not %d",
                         s->channels);
  for (int c = 0; c < s->channels; c++)
    {
      if (!isfinite (s->mean[c]))
        return sl_error_set (err, SL_ERR_INVALID, "input: mean[%d] is not a finite number", c);
      if (!isfinite (s->std[c]) || s->std[c] <= 0)
        return sl_error_set (err, SL_ERR_INVALID, "input: std[%d] must be a positive number", c);
    }
  return SL_OK;
}

void
sl_pipeline_get_input (const sl_pipeline *pipeline, sl_input_spec *out)
{
  *out = pipeline->input;
}

sl_status
sl_pipeline_set_input (sl_pipeline *pipeline, const sl_input_spec *spec, sl_error *err)
{
  sl_input_spec s = *spec;
  sl_status st;

  for (int c = s.channels > 0 && s.channels <= 3 ? s.channels : 3; c < 3; c++)
    {
      s.mean[c] = 0.0f;
      s.std[c] = 1.0f;
    }
  st = _sl_input_spec_check (&s, err);
  if (st == SL_OK)
    pipeline->input = s;
  return st;
}

void
sl_pipeline_get_alpha (const sl_pipeline *pipeline, sl_alpha_rule *out)
{
  *out = pipeline->alpha;
}

sl_status
sl_pipeline_set_alpha (sl_pipeline *pipeline, const sl_alpha_rule *rule, sl_error *err)
{
  if (rule == NULL
      || (rule->mode != SL_ALPHA_DROP && rule->mode != SL_ALPHA_COMPOSITE
          && rule->mode != SL_ALPHA_MASK))
    return sl_error_set (err, SL_ERR_INVALID,
                         "input: the alpha rule must be drop, composite or mask (mode %d)",
                         rule != NULL ? (int) rule->mode : -1);
  pipeline->alpha = *rule;
  return SL_OK;
}

int
sl_pipeline_step_count (const sl_pipeline *pipeline)
{
  return pipeline->n_steps;
}

static sl_status
bad_step (const sl_pipeline *p, int step, sl_error *err)
{
  return sl_error_set (err, SL_ERR_INVALID, "there is no step %d (the pipeline has %d)", step + 1,
                       p->n_steps);
}

const sl_op_info *
sl_pipeline_step_op (const sl_pipeline *pipeline, int step)
{
  if (step < 0 || step >= pipeline->n_steps)
    return NULL;
  return &pipeline->steps[step].op->info;
}

sl_status
sl_pipeline_insert_step (sl_pipeline *pipeline, int index, const char *op_id, sl_error *err)
{
  const sl_op_info *info = sl_op_find (op_id);
  sl_step step = { 0 };
  sl_status st;

  if (info == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "there is no operator '%s'",
                         op_id ? op_id : "(null)");
  if (index < -1 || index > pipeline->n_steps)
    return sl_error_set (err, SL_ERR_INVALID, "cannot insert a step at position %d of %d",
                         index + 1, pipeline->n_steps);
  step.op = sl_op_from_info (info);
  step.enabled = true;
  sl_op_defaults (step.op, step.values);
  st = _sl_pipeline_append (pipeline, &step, err);
  if (st == SL_OK && index >= 0)
    sl_pipeline_move_step (pipeline, pipeline->n_steps - 1, index, NULL);
  return st;
}

sl_status
sl_pipeline_remove_step (sl_pipeline *pipeline, int step, sl_error *err)
{
  if (step < 0 || step >= pipeline->n_steps)
    return bad_step (pipeline, step, err);
  memmove (&pipeline->steps[step], &pipeline->steps[step + 1],
           sizeof (sl_step) * (size_t) (pipeline->n_steps - step - 1));
  pipeline->n_steps--;
  return SL_OK;
}

sl_status
sl_pipeline_move_step (sl_pipeline *pipeline, int from, int to, sl_error *err)
{
  sl_step moving;

  if (from < 0 || from >= pipeline->n_steps)
    return bad_step (pipeline, from, err);
  if (to < 0 || to >= pipeline->n_steps)
    return bad_step (pipeline, to, err);
  moving = pipeline->steps[from];
  if (from < to)
    memmove (&pipeline->steps[from], &pipeline->steps[from + 1],
             sizeof (sl_step) * (size_t) (to - from));
  else
    memmove (&pipeline->steps[to + 1], &pipeline->steps[to],
             sizeof (sl_step) * (size_t) (from - to));
  pipeline->steps[to] = moving;
  return SL_OK;
}

sl_status
sl_pipeline_set_enabled (sl_pipeline *pipeline, int step, bool enabled, sl_error *err)
{
  if (step < 0 || step >= pipeline->n_steps)
    return bad_step (pipeline, step, err);
  pipeline->steps[step].enabled = enabled;
  return SL_OK;
}

bool
sl_pipeline_get_enabled (const sl_pipeline *pipeline, int step)
{
  return step >= 0 && step < pipeline->n_steps && pipeline->steps[step].enabled;
}

/* Finds a step's parameter of the wanted kind (rect or number). */
static sl_status
find_param (const sl_pipeline *p, int step, const char *param, bool rect, int *index, sl_error *err)
{
  const sl_op_info *info;

  if (step < 0 || step >= p->n_steps)
    return bad_step (p, step, err);
  info = &p->steps[step].op->info;
  for (int i = 0; i < info->n_params; i++)
    if (param && strcmp (info->params[i].id, param) == 0)
      {
        if ((info->params[i].type == SL_PARAM_RECT) != rect)
          return sl_error_set (err, SL_ERR_INVALID, "step %d (%s): parameter '%s' is %s", step + 1,
                               info->name, param,
                               rect ? "a number, not a rectangle" : "a rectangle, not a number");
        *index = i;
        return SL_OK;
      }
  return sl_error_set (err, SL_ERR_INVALID, "step %d (%s) has no parameter '%s'", step + 1,
                       info->name, param ? param : "(null)");
}

static sl_status
set_value (sl_pipeline *p, int step, int i, const sl_param_value *v, sl_error *err)
{
  const sl_op_info *info = &p->steps[step].op->info;
  sl_status st = sl_param_check (&info->params[i], v, err);

  if (st != SL_OK)
    {
      sl_error_prefix (err, "step %d (%s)", step + 1, info->name);
      return st;
    }
  p->steps[step].values[i] = *v;
  return SL_OK;
}

sl_status
sl_pipeline_set_param (sl_pipeline *pipeline, int step, const char *param, double value,
                       sl_error *err)
{
  sl_param_value v = { .number = value };
  int i;
  sl_status st = find_param (pipeline, step, param, false, &i, err);

  return st == SL_OK ? set_value (pipeline, step, i, &v, err) : st;
}

sl_status
sl_pipeline_set_choice (sl_pipeline *pipeline, int step, const char *param, const char *choice,
                        sl_error *err)
{
  const sl_param_spec *spec;
  int i;
  sl_status st = find_param (pipeline, step, param, false, &i, err);

  if (st != SL_OK)
    return st;
  spec = &pipeline->steps[step].op->info.params[i];
  if (spec->type != SL_PARAM_ENUM)
    return sl_error_set (err, SL_ERR_INVALID, "step %d: parameter '%s' is not a choice", step + 1,
                         param);
  for (int c = 0; choice && spec->choices[c]; c++)
    if (strcmp (spec->choices[c], choice) == 0)
      {
        pipeline->steps[step].values[i].number = c;
        return SL_OK;
      }
  return sl_error_set (err, SL_ERR_INVALID, "step %d (%s): '%s' is not a choice of '%s'", step + 1,
                       pipeline->steps[step].op->info.name, choice ? choice : "(null)", param);
}

sl_status
sl_pipeline_set_rect (sl_pipeline *pipeline, int step, const char *param, sl_rect rect,
                      sl_error *err)
{
  sl_param_value v = { .rect = rect };
  int i;
  sl_status st = find_param (pipeline, step, param, true, &i, err);

  return st == SL_OK ? set_value (pipeline, step, i, &v, err) : st;
}

sl_status
sl_pipeline_get_param (const sl_pipeline *pipeline, int step, const char *param, double *value,
                       sl_error *err)
{
  int i;
  sl_status st = find_param (pipeline, step, param, false, &i, err);

  if (st == SL_OK)
    *value = pipeline->steps[step].values[i].number;
  return st;
}

sl_status
sl_pipeline_get_rect (const sl_pipeline *pipeline, int step, const char *param, sl_rect *rect,
                      sl_error *err)
{
  int i;
  sl_status st = find_param (pipeline, step, param, true, &i, err);

  if (st == SL_OK)
    *rect = pipeline->steps[step].values[i].rect;
  return st;
}

static sl_status
check_step (const sl_pipeline *p, int i, sl_error *err)
{
  const sl_step *s = &p->steps[i];
  sl_status st = sl_op_check_all (s->op, s->values, err);

  if (st != SL_OK)
    sl_error_prefix (err, "step %d (%s)", i + 1, s->op->info.name);
  return st;
}

sl_status
sl_pipeline_validate (const sl_pipeline *pipeline, sl_error *err)
{
  for (int i = 0; i < pipeline->n_steps; i++)
    {
      sl_status st = check_step (pipeline, i, err);

      if (st != SL_OK)
        return st;
    }
  return _sl_input_spec_check (&pipeline->input, err);
}

/* Runs every step; with stages, keeps each output there. */
static sl_status
run (const sl_pipeline *p, const sl_image *in, sl_image *stages, sl_image *out, sl_error *err)
{
  sl_image cur = *in, owned = { 0 };
  sl_status st = SL_OK;
  int n = p->n_steps;

  if (in == NULL || in->data == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "the pipeline got an empty image");
  cur.owner = NULL;
  /* Transparency is resolved first, so no operator ever sees an alpha channel
   * (most would drop it and leave the stored colour, usually black). */
  if (in->channels == 4 && p->alpha.mode != SL_ALPHA_DROP)
    {
      st = sl_image_flatten_alpha (in, &p->alpha, &owned, err);
      if (st != SL_OK)
        {
          sl_error_prefix (err, "transparency");
          return st;
        }
      cur = owned;
      cur.owner = NULL;
    }
  for (int i = 0; i < n && st == SL_OK; i++)
    {
      const sl_step *s = &p->steps[i];
      sl_image next = { 0 };

      if (!s->enabled)
        {
          if (stages)
            st = sl_image_copy (&cur, &stages[i], err);
          continue;
        }
      st = check_step (p, i, err);
      if (st != SL_OK)
        break;
      st = s->op->apply (&cur, s->values, &next, err);
      if (st != SL_OK)
        {
          sl_error_prefix (err, "step %d (%s)", i + 1, s->op->info.name);
          break;
        }
      if (stages)
        stages[i] = next;
      else
        {
          sl_image_clear (&owned);
          owned = next;
        }
      cur = next;
      cur.owner = NULL;
    }
  if (st == SL_OK)
    {
      st = _sl_input_spec_check (&p->input, err);
      if (st == SL_OK)
        st = sl_input_conform (&p->input, &cur, out, err);
      if (st != SL_OK)
        sl_error_prefix (err, "model input");
    }
  sl_image_clear (&owned);
  return st;
}

sl_status
sl_pipeline_apply (const sl_pipeline *pipeline, const sl_image *in, sl_image *out, sl_error *err)
{
  memset (out, 0, sizeof *out);
  return run (pipeline, in, NULL, out, err);
}

sl_status
sl_pipeline_apply_stages (const sl_pipeline *pipeline, const sl_image *in, sl_image *stages,
                          sl_error *err)
{
  memset (stages, 0, sizeof (sl_image) * (size_t) (pipeline->n_steps + 1));
  return run (pipeline, in, stages, &stages[pipeline->n_steps], err);
}

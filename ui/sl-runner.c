/* sl-runner.c: one training run at a time for a session, on its own thread, with throttled progress for the UI. */
#define _GNU_SOURCE  /* gettid */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-runner.h"

#include <math.h>
#include <sys/resource.h>
#include <unistd.h>

/* Step values reach the main loop at most this often. */
#define STEP_INTERVAL_US (50 * G_TIME_SPAN_MILLISECOND)

typedef enum
{
  EVENT_STARTED,
  EVENT_FEATURES,
  EVENT_STEP,
  EVENT_EPOCH,
  EVENT_FINISHED,
} EventKind;

typedef struct
{
  EventKind kind;
  SlTrainProgress progress; /* EVENT_FEATURES, EVENT_STEP, EVENT_EPOCH */
  gint64 run_id;            /* EVENT_STARTED, EVENT_FINISHED */
  gint64 train_images, val_images;
  gint64 split_assigned;
  gint64 skipped_missing; /* train/val images whose stored copy is gone */
  gsize params;
  GError *error; /* EVENT_FINISHED */
} Event;

/* What the training thread and the trainer share; each holds a reference. */
typedef struct
{
  gatomicrefcount refs;
  GWeakRef trainer;
  GMutex lock;
  GArray *events; /* Event, guarded by lock */
  gboolean flush_queued;
  gboolean held; /* sl_runner_hold_reports: events wait */
  gint64 last_flush;
  SlTrainJob *job; /* guarded by lock; NULL before it exists and after it ended */
  int cancelled;   /* atomic */

  /* The request, read by the thread only. */
  char *path;
  SlRunConfig config;
  gint64 resume_run; /* -1: a new run */
  int resume_epochs;
  gint64 split_assigned; /* images the run put into splits */
} Shared;

struct _SlRunner
{
  GObject parent_instance;

  SlSession *session; /* owns this trainer; a weak pointer, as the trainer may outlive it */
  Shared *shared;     /* the current or last run's */
  GThread *thread;
  gboolean running;
  gint64 run_id;
  SlTrainProgress progress;
  gboolean has_progress;
  gint64 started_us, finished_us;
  /* The feature pass's measured pace: its first report's time and count. */
  gint64 features_since_us, features_since;
  gint64 train_images, val_images;
  gint64 split_assigned;
  gint64 skipped_missing;
  gsize params;
  int threads;
  char device[16]; /* as SlRunConfig.device */
};

G_DEFINE_FINAL_TYPE (SlRunner, sl_runner, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

enum
{
  STARTED,
  FEATURES,
  STEPS,
  EPOCH,
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---- Shared state --------------------------------------------------------------------- */

static void
event_clear (gpointer data)
{
  Event *e = data;

  g_clear_error (&e->error);
}

static Shared *
shared_new (SlRunner *trainer, const char *path)
{
  Shared *s = g_new0 (Shared, 1);

  g_atomic_ref_count_init (&s->refs);
  g_weak_ref_init (&s->trainer, trainer);
  g_mutex_init (&s->lock);
  s->events = g_array_new (FALSE, TRUE, sizeof (Event));
  g_array_set_clear_func (s->events, event_clear);
  s->path = g_strdup (path);
  s->resume_run = -1;
  return s;
}

static Shared *
shared_ref (Shared *s)
{
  g_atomic_ref_count_inc (&s->refs);
  return s;
}

static void
shared_unref (Shared *s)
{
  if (!g_atomic_ref_count_dec (&s->refs))
    return;
  g_weak_ref_clear (&s->trainer);
  g_mutex_clear (&s->lock);
  g_array_unref (s->events);
  g_free (s->path);
  sl_run_config_clear (&s->config);
  g_free (s);
}

/* ---- Main thread: delivering events ----------------------------------------------------- */

static void
emit_steps (SlRunner *self, GArray *steps)
{
  if (steps->len > 0)
    g_signal_emit (self, signals[STEPS], 0, steps->data, steps->len);
  g_array_set_size (steps, 0);
}

static void
notify_runs_changed (SlRunner *self)
{
  if (self->session != NULL)
    sl_session_notify_runs_changed (self->session);
}

static void
finish (SlRunner *self, Event *e)
{
  if (self->thread != NULL)
    g_thread_join (g_steal_pointer (&self->thread)); /* its last act was to post this */
  if (e->run_id >= 0)
    self->run_id = e->run_id;
  self->finished_us = g_get_monotonic_time ();
  self->running = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[FINISHED], 0, e->run_id, e->error);
  notify_runs_changed (self);
}

static void
deliver (SlRunner *self, Event *e, GArray *steps)
{
  SlRunnerStep step;

  switch (e->kind)
    {
      case EVENT_STARTED:
        self->run_id = e->run_id;
        self->train_images = e->train_images;
        self->val_images = e->val_images;
        self->params = e->params;
        self->split_assigned = e->split_assigned;
        self->skipped_missing = e->skipped_missing;
        self->started_us = g_get_monotonic_time ();
        /* Listeners of "started" find the new run in the lists first. */
        notify_runs_changed (self);
        g_signal_emit (self, signals[STARTED], 0, e->run_id);
        break;
      case EVENT_FEATURES:
        /* Not a step: no point for the curves, and the step counters mean nothing yet. */
        emit_steps (self, steps);
        if (self->features_since_us == 0 || e->progress.features_done < self->features_since)
          {
            self->features_since_us = g_get_monotonic_time ();
            self->features_since = e->progress.features_done;
          }
        self->progress = e->progress;
        self->has_progress = TRUE;
        g_signal_emit (self, signals[FEATURES], 0, &e->progress);
        break;
      case EVENT_STEP:
        self->progress = e->progress;
        self->has_progress = TRUE;
        step.x = e->progress.epoch
                 + (double) e->progress.step_in_epoch / MAX (e->progress.steps_in_epoch, 1);
        step.loss = e->progress.train_loss;
        step.accuracy = e->progress.train_accuracy;
        step.learning_rate = e->progress.learning_rate;
        g_array_append_val (steps, step);
        break;
      case EVENT_EPOCH:
        emit_steps (self, steps);
        self->progress = e->progress;
        self->has_progress = TRUE;
        g_signal_emit (self, signals[EPOCH], 0, &e->progress);
        notify_runs_changed (self);
        break;
      case EVENT_FINISHED:
        emit_steps (self, steps);
        finish (self, e);
        break;
    }
}

static gboolean
flush_events (gpointer data)
{
  Shared *s = data;
  g_autoptr (SlRunner) self = g_weak_ref_get (&s->trainer);
  g_autoptr (SlSession) session = NULL;
  g_autoptr (GArray) events = NULL;
  g_autoptr (GArray) steps = NULL;

  g_mutex_lock (&s->lock);
  if (s->held)
    {
      s->flush_queued = FALSE;
      g_mutex_unlock (&s->lock);
      return G_SOURCE_REMOVE;
    }
  events = g_steal_pointer (&s->events);
  s->events = g_array_new (FALSE, TRUE, sizeof (Event));
  g_array_set_clear_func (s->events, event_clear);
  s->flush_queued = FALSE;
  s->last_flush = g_get_monotonic_time ();
  g_mutex_unlock (&s->lock);

  /* A trainer disposed meanwhile joined its thread already. */
  if (self == NULL || self->shared != s)
    return G_SOURCE_REMOVE;
  /* A handler may close the window, and with it the session (the "running" notification
   * closes a window that waited for its run to stop): it stays until the events are out. */
  if (self->session != NULL)
    session = g_object_ref (self->session);
  steps = g_array_new (FALSE, FALSE, sizeof (SlRunnerStep));
  for (guint i = 0; i < events->len; i++)
    {
      deliver (self, &g_array_index (events, Event, i), steps);
      g_mutex_lock (&s->lock);
      if (s->held && i + 1 < events->len)
        {
          /* A listener held the reports back: the rest wait, in order, for the release. Only
           * the last event (finished) owns an error, so the moved ones are not cleared here. */
          g_array_prepend_vals (s->events, &g_array_index (events, Event, i + 1),
                                events->len - i - 1);
          g_array_set_clear_func (events, NULL);
          g_array_set_size (events, i + 1);
          g_array_set_clear_func (events, event_clear);
        }
      g_mutex_unlock (&s->lock);
    }
  emit_steps (self, steps);
  return G_SOURCE_REMOVE;
}

/* ---- Training thread ------------------------------------------------------------------ */

/* Queues an event; a step waits for the throttle, anything else goes at once. */
static void
post (Shared *s, Event *e)
{
  gint64 now = g_get_monotonic_time ();
  gint64 delay = 0;

  g_mutex_lock (&s->lock);
  g_array_append_val (s->events, *e);
  if (e->kind == EVENT_STEP || e->kind == EVENT_FEATURES)
    delay = MAX (0, s->last_flush + STEP_INTERVAL_US - now);
  if (s->held)
    ; /* sl_runner_hold_reports (FALSE) sends them */
  else if (!s->flush_queued || (e->kind != EVENT_STEP && e->kind != EVENT_FEATURES))
    {
      s->flush_queued = TRUE;
      g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) (delay / 1000), flush_events, shared_ref (s),
                          (GDestroyNotify) shared_unref);
    }
  g_mutex_unlock (&s->lock);
}

static EventKind
progress_kind (const SlTrainProgress *progress)
{
  /* A pass before the epochs (features of a frozen backbone), or a fit's phases (features,
   * memory bank, threshold): no step, no loss. */
  if ((progress->features_total > 0 || progress->fit_total > 0 || progress->score_total > 0)
      && !progress->epoch_done)
    return EVENT_FEATURES;
  return progress->epoch_done ? EVENT_EPOCH : EVENT_STEP;
}

static void
on_progress (const SlTrainProgress *progress, gpointer data)
{
  Event e = { progress_kind (progress), *progress, -1 };

  post (data, &e);
}

static SlTrainJob *
create_job (Shared *s, GError **error)
{
  g_autoptr (SlProject) db = sl_project_open_worker (s->path, error);
  g_autofree char *ref = NULL;

  if (db == NULL)
    return NULL;
  if (s->resume_run < 0)
    {
      SlSplitConfig split;

      /* Labelled images without a split join one (70/15/15, stratified), as
       * the user expects every labelled image to count. A resumed run keeps
       * its data as it was. */
      sl_split_config_init (&split);
      if (!sl_project_split (db, &split, &s->split_assigned, error))
        return NULL;
      return sl_train_job_new (db, &s->config, error);
    }
  ref = g_strdup_printf ("%" G_GINT64_FORMAT, s->resume_run);
  return sl_train_job_new_resume (db, ref, s->resume_epochs, error);
}

static gpointer
train_thread (gpointer data)
{
  Shared *s = data;
  Event e = { EVENT_FINISHED, { 0 }, s->resume_run };
  SlTrainJob *job;

  /* Below the main loop: a frame never waits for a training thread's time
   * slice. Linux nice values are per thread and inherited by the threads
   * created after, so the job's compute and loader threads follow. */
  setpriority (PRIO_PROCESS, (id_t) gettid (), 10);
  job = create_job (s, &e.error);

  if (job != NULL)
    {
      Event started = { EVENT_STARTED, { 0 }, sl_train_job_get_run_id (job) };

      started.train_images = sl_train_job_get_train_images (job);
      started.val_images = sl_train_job_get_val_images (job);
      started.params = sl_train_job_get_param_count (job);
      started.split_assigned = s->split_assigned;
      started.skipped_missing = sl_train_job_get_skipped_images (job);
      post (s, &started);
      e.run_id = started.run_id;
      sl_train_job_set_progress_func (job, on_progress, s);
      g_mutex_lock (&s->lock);
      s->job = job;
      if (g_atomic_int_get (&s->cancelled))
        sl_train_job_cancel (job);
      g_mutex_unlock (&s->lock);
      sl_train_job_run (job, &e.error);
      g_mutex_lock (&s->lock);
      s->job = NULL;
      g_mutex_unlock (&s->lock);
      /* Freed first: it holds the run's lock, which a resume or delete needs. */
      sl_train_job_free (job);
    }
  post (s, &e);
  shared_unref (s);
  return NULL;
}

/* ---- Public API --------------------------------------------------------------------- */

static gboolean
launch (SlRunner *self, Shared *s, GError **error)
{
  GThread *thread;

  if (self->running)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "A model is being trained already");
      shared_unref (s);
      return FALSE;
    }
  thread = g_thread_try_new ("sl-runner", train_thread, shared_ref (s), error);
  if (thread == NULL)
    {
      shared_unref (s); /* the thread's */
      shared_unref (s);
      return FALSE;
    }
  g_clear_pointer (&self->shared, shared_unref);
  self->shared = s;
  self->thread = thread;
  self->running = TRUE;
  self->has_progress = FALSE;
  self->features_since_us = self->features_since = 0;
  self->split_assigned = self->skipped_missing = self->train_images = self->val_images = 0;
  self->params = 0;
  self->started_us = self->finished_us = 0;
  self->run_id = s->resume_run;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

static void
copy_config (SlRunConfig *dst, const SlRunConfig *src)
{
  *dst = *src;
  dst->preset = g_strdup (src->preset);
  dst->model_json = g_strdup (src->model_json);
  dst->pipeline_json = g_strdup (src->pipeline_json);
  dst->augment_json = g_strdup (src->augment_json);
  dst->optimizer = g_strdup (src->optimizer);
  dst->backbone = g_strdup (src->backbone);
  dst->manual_weights = src->manual_weights != NULL ? g_array_ref (src->manual_weights) : NULL;
}

gboolean
sl_runner_start (SlRunner *self, const SlRunConfig *config, GError **error)
{
  Shared *s;

  g_return_val_if_fail (SL_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (config != NULL, FALSE);

  s = shared_new (self, sl_session_get_path (self->session));
  copy_config (&s->config, config);
  self->threads = config->threads > 0 ? config->threads : (int) g_get_num_processors ();
  g_strlcpy (self->device, config->device, sizeof self->device);
  return launch (self, s, error);
}

/* The thread count and device a stored run trains with (its recipe's). */
static void
read_recipe (SlRunner *self, gint64 run_id)
{
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, run_id);
  g_autoptr (SlRunInfo) run
      = sl_project_get_run (sl_session_get_project (self->session), ref, NULL);
  SlRunConfig config;

  sl_run_config_init (&config);
  self->threads = (int) g_get_num_processors ();
  self->device[0] = '\0';
  if (run != NULL && sl_run_config_from_json (run->config_json, &config, NULL, NULL))
    {
      if (config.threads > 0)
        self->threads = config.threads;
      g_strlcpy (self->device, config.device, sizeof self->device);
    }
  sl_run_config_clear (&config);
}

gboolean
sl_runner_resume (SlRunner *self, gint64 run_id, int epochs, GError **error)
{
  Shared *s;

  g_return_val_if_fail (SL_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (run_id >= 0, FALSE);

  s = shared_new (self, sl_session_get_path (self->session));
  s->resume_run = run_id;
  s->resume_epochs = epochs;
  /* A resumed run keeps its recipe, thread count and device included: show those. */
  read_recipe (self, run_id);
  return launch (self, s, error);
}

void
sl_runner_stop (SlRunner *self)
{
  g_return_if_fail (SL_IS_RUNNER (self));

  if (!self->running)
    return;
  g_atomic_int_set (&self->shared->cancelled, 1);
  g_mutex_lock (&self->shared->lock);
  if (self->shared->job != NULL)
    sl_train_job_cancel (self->shared->job);
  g_mutex_unlock (&self->shared->lock);
}

gboolean
sl_runner_is_running (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), FALSE);
  return self->running;
}

gboolean
sl_runner_is_stopping (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), FALSE);
  return self->running && g_atomic_int_get (&self->shared->cancelled);
}

gint64
sl_runner_get_run_id (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), -1);
  return self->run_id;
}

const SlTrainProgress *
sl_runner_get_progress (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), NULL);
  return self->has_progress ? &self->progress : NULL;
}

double
sl_runner_get_elapsed (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);

  if (self->started_us == 0)
    return 0;
  return ((self->running ? g_get_monotonic_time () : self->finished_us) - self->started_us) / 1e6;
}

double
sl_runner_get_features_rate (SlRunner *self)
{
  const SlTrainProgress *p;
  double seconds;

  g_return_val_if_fail (SL_IS_RUNNER (self), NAN);

  p = sl_runner_get_progress (self);
  if (p == NULL || p->features_total <= 0 || self->features_since_us == 0)
    return NAN;
  seconds = (g_get_monotonic_time () - self->features_since_us) / 1e6;
  /* A rate from less than a quarter second or a single batch is a guess. */
  if (seconds < 0.25 || p->features_done <= self->features_since)
    return NAN;
  return (p->features_done - self->features_since) / seconds;
}

void
sl_runner_hold_reports (SlRunner *self, gboolean hold)
{
  Shared *s;

  g_return_if_fail (SL_IS_RUNNER (self));

  if ((s = self->shared) == NULL)
    return;
  g_mutex_lock (&s->lock);
  s->held = hold;
  if (!hold && s->events->len > 0 && !s->flush_queued)
    {
      s->flush_queued = TRUE;
      g_timeout_add_full (G_PRIORITY_DEFAULT, 0, flush_events, shared_ref (s),
                          (GDestroyNotify) shared_unref);
    }
  g_mutex_unlock (&s->lock);
}

void
sl_runner_report (SlRunner *self, const SlTrainProgress *progress)
{
  g_autoptr (GArray) steps = g_array_new (FALSE, FALSE, sizeof (SlRunnerStep));
  Event e = { progress_kind (progress), *progress, -1 };

  g_return_if_fail (SL_IS_RUNNER (self));
  g_return_if_fail (self->running);

  deliver (self, &e, steps);
  emit_steps (self, steps);
}

gint64
sl_runner_get_train_images (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->train_images;
}

gint64
sl_runner_get_val_images (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->val_images;
}

gint64
sl_runner_get_split_assigned (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->split_assigned;
}

gint64
sl_runner_get_skipped_missing (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->skipped_missing;
}

gsize
sl_runner_get_param_count (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->params;
}

int
sl_runner_get_threads (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), 0);
  return self->threads;
}

const char *
sl_runner_get_device (SlRunner *self)
{
  g_return_val_if_fail (SL_IS_RUNNER (self), "");
  return self->device;
}

SlRunner *
sl_runner_new (SlSession *session)
{
  SlRunner *self;

  g_return_val_if_fail (SL_IS_SESSION (session), NULL);

  self = g_object_new (SL_TYPE_RUNNER, NULL);
  self->session = session;
  g_object_add_weak_pointer (G_OBJECT (session), (gpointer *) &self->session);
  return self;
}

static void
sl_runner_dispose (GObject *object)
{
  SlRunner *self = SL_RUNNER (object);

  /* The window asks before closing during a run; this is the last resort. */
  if (self->thread != NULL)
    {
      sl_runner_stop (self);
      g_thread_join (g_steal_pointer (&self->thread));
    }
  g_clear_pointer (&self->shared, shared_unref);
  if (self->session != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
  self->session = NULL;
  G_OBJECT_CLASS (sl_runner_parent_class)->dispose (object);
}

static void
sl_runner_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SlRunner *self = SL_RUNNER (object);

  switch (prop_id)
    {
      case PROP_RUNNING: g_value_set_boolean (value, self->running); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_runner_class_init (SlRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_runner_dispose;
  object_class->get_property = sl_runner_get_property;

  properties[PROP_RUNNING]
      = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[FEATURES] = g_signal_new ("features", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[STEPS] = g_signal_new ("steps", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);
  signals[EPOCH] = g_signal_new ("epoch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_POINTER);
}

static void
sl_runner_init (SlRunner *self)
{
  self->run_id = -1;
}

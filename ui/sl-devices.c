/* sl-devices.c: the workbench's device list, looked up once on a worker (opening the CUDA module can take seconds) and shared. */
#define G_LOG_DOMAIN "Sightline-UI"

#include "sl-devices.h"

struct _SlDevices
{
  GObject parent_instance;
  sl_device_list *list; /* a reference to the registry's list; NULL until found */
  char *error;          /* why the last look failed */
  guint looks;          /* looks started: only the latest one's result counts */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (SlDevices, sl_devices, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  guint look;
  gboolean refresh;
} Look;

static void
look_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const Look *look = data;
  sl_device_list *list = NULL;
  sl_error err = { 0 };
  sl_status st;

  st = look->refresh ? sl_device_registry_refresh (&list, &err)
                     : sl_device_registry_get (&list, &err);
  if (st != SL_OK)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
  else
    g_task_return_pointer (task, list, (GDestroyNotify) sl_device_list_free);
}

static void
look_done (GObject *source, GAsyncResult *result, gpointer data)
{
  SlDevices *self = SL_DEVICES (source);
  const Look *look = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  sl_device_list *list = g_task_propagate_pointer (G_TASK (result), &error);

  if (look->look != self->looks)
    {
      /* A newer look is under way: its result is the one to show. */
      sl_device_list_free (list);
      return;
    }
  if (list == NULL)
    g_debug ("No device list: %s", error->message);
  g_clear_pointer (&self->list, sl_device_list_free);
  self->list = list;
  g_free (self->error);
  self->error = list == NULL ? g_strdup (error->message) : NULL;
  self->busy = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
start_look (SlDevices *self, gboolean refresh)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, look_done, NULL);
  Look *look = g_new0 (Look, 1);

  look->look = ++self->looks;
  look->refresh = refresh;
  g_task_set_task_data (task, look, g_free);
  g_task_set_source_tag (task, start_look);
  if (!self->busy)
    {
      self->busy = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  g_task_run_in_thread (task, look_thread);
}

SlDevices *
sl_devices_get_default (void)
{
  static SlDevices *instance;

  if (instance == NULL)
    {
      instance = g_object_new (SL_TYPE_DEVICES, NULL);
      start_look (instance, FALSE);
    }
  return instance;
}

gboolean
sl_devices_get_busy (SlDevices *self)
{
  g_return_val_if_fail (SL_IS_DEVICES (self), FALSE);
  return self->busy;
}

const sl_device_list *
sl_devices_get_list (SlDevices *self)
{
  g_return_val_if_fail (SL_IS_DEVICES (self), NULL);
  return self->list;
}

const char *
sl_devices_get_error (SlDevices *self)
{
  g_return_val_if_fail (SL_IS_DEVICES (self), NULL);
  return self->error;
}

void
sl_devices_refresh (SlDevices *self)
{
  g_return_if_fail (SL_IS_DEVICES (self));
  start_look (self, TRUE);
}

static void
sl_devices_finalize (GObject *object)
{
  SlDevices *self = SL_DEVICES (object);

  g_clear_pointer (&self->list, sl_device_list_free);
  g_free (self->error);
  G_OBJECT_CLASS (sl_devices_parent_class)->finalize (object);
}

static void
sl_devices_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_BUSY: g_value_set_boolean (value, SL_DEVICES (object)->busy); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_devices_class_init (SlDevicesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sl_devices_finalize;
  object_class->get_property = sl_devices_get_property;
  properties[PROP_BUSY]
      = g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sl_devices_init (SlDevices *self)
{
}

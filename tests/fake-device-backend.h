/* fake-device-backend.h: an emulated GPU (CPU kernels behind unreachable addresses) for tests. */
#pragma once

#include "sl-backend-private.h"

sl_status fake_device_backend_new (sl_backend **out, sl_error *err);

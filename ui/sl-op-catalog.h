/* sl-op-catalog.h: the "Add Step" popover: every operator, grouped and searchable. */
#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_OP_CATALOG (sl_op_catalog_get_type ())
G_DECLARE_FINAL_TYPE (SlOpCatalog, sl_op_catalog, SL, OP_CATALOG, GtkPopover)

/* Emits "op-activated" (const char *op_id) when an operator is clicked or
 * Enter is pressed in the search (the first match), then closes. */
GtkWidget *sl_op_catalog_new (void);

/* The group an operator is listed under ("Colour", "Geometry", ...). */
const char *sl_op_category (const char *op_id);

void sl_op_catalog_set_search (SlOpCatalog *self, const char *text);
/* Operators shown by the current search. */
guint sl_op_catalog_count_visible (SlOpCatalog *self);

G_END_DECLS

#ifndef GW_STORE_ARGS_H
#define GW_STORE_ARGS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Argument pieces shared by the typed store calls of the northbound API (store_submit,
 * store_read, store_inbox): the organisations a client acts for, and checked text lists.
 */

/* The organisations a request acts for: what it may read and acknowledge. At least one. */
struct gw_store_scope {
    const char *const *organs;
    size_t n_organs;
};

/* Checks every item as SQL text (valid UTF-8, no NUL, at most max_bytes, 0 = no own limit) and
 * formats the list as a PostgreSQL text[] literal into *out (malloc'd). GW_EINVAL (NULL item or
 * bad UTF-8), GW_ERANGE (too long), GW_ENOMEM; *out is NULL on error. */
int gw_store_text_array(const char *const *items, size_t n, size_t max_bytes, char **out)
    __attribute__((warn_unused_result));

/* Checks a scope (at least one organisation, each a short valid text) and formats it as
 * gw_store_text_array does. */
int gw_store_scope_array(const struct gw_store_scope *scope, char **out)
    __attribute__((warn_unused_result));

/* Longest organisation id a scope may hold (the configuration allows 64). */
#define GW_STORE_ORGAN_MAX 64

#endif

/*
 * diag.h — the one error type of unisec: a list of positioned messages a user can act on.
 *
 * Library code never prints and never exits: it appends to a struct engine_diag and returns
 * a negative errno. Callers (main, the mount) decide where the messages go.
 *
 * Every entry names FILE:LINE:COL (LINE and COL are 1-based; 0 means "no position") and
 * says what is wrong and what was expected.
 */
#ifndef UNISEC_ENGINE_DIAG_H
#define UNISEC_ENGINE_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Beyond this many entries, further ones are counted but not stored. */
#define ENGINE_DIAG_MAX 200

struct engine_diag_entry {
    char *file; /* owned; may be NULL when the error has no source file */
    int line;   /* 1-based, 0 when unknown */
    int col;    /* 1-based, 0 when unknown */
    char *msg;  /* owned; one sentence, no trailing newline */
};

struct engine_diag {
    struct engine_diag_entry *v; /* owned array of n entries */
    size_t n, cap;
    size_t dropped; /* entries not stored (over ENGINE_DIAG_MAX) */
    int oom;        /* an entry could not be stored for lack of memory */
};

/* A zeroed struct is a valid empty list; engine_diag_init() just zeroes it. */
void engine_diag_init(struct engine_diag *d);

/* Frees every entry; accepts NULL; leaves *d empty and reusable. */
void engine_diag_free(struct engine_diag *d);

/*
 * Appends one message. FILE is copied (NULL allowed); D may be NULL, which drops the message
 * (for callers whose own DIAG may be NULL). Returns -EINVAL always, so that
 * `return engine_diag_add(...)` both records and fails. If memory runs out the message is
 * dropped and d->oom is set; the return value is still -EINVAL.
 */
int engine_diag_add(struct engine_diag *d, const char *file, int line, int col, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
int engine_diag_vadd(struct engine_diag *d, const char *file, int line, int col, const char *fmt,
                     va_list ap);

/* Moves every entry of SRC to the end of DST; SRC is left empty. */
void engine_diag_move(struct engine_diag *dst, struct engine_diag *src);

/* Prints each entry as "FILE:LINE:COL: error: MSG\n" (position parts omitted when 0). */
void engine_diag_print(const struct engine_diag *d, FILE *out);

/* Formats entry I as above into a new string (caller frees), or NULL on allocation failure. */
char *engine_diag_format(const struct engine_diag *d, size_t i);

/* Every entry formatted as above, joined by newlines (no trailing one); "" when empty.
 * Returns a new string (caller frees), or NULL on allocation failure. */
char *engine_diag_join(const struct engine_diag *d);

/* The one logging call: log.h. */
#include "log.h"

#endif

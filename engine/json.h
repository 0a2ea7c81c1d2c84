/*
 * json.h — JSON text from a jansson value, complete or an error. Every JSON document unisec
 * writes (the derived artifacts, image manifests, node status) is made here.
 *
 * jansson 2.14's json_dumps() ignores the result of writing an object's key: when memory runs
 * out there it returns a document with bytes missing and no error. This dumps through
 * json_dump_callback() into a buffer whose first failure to grow is final. A string alone
 * (no key, nothing allocated) may be written with json_dumpb() into a buffer of the size it
 * asks for: the mount's events.json lines escape their message so.
 */
#ifndef UNISEC_ENGINE_JSON_H
#define UNISEC_ENGINE_JSON_H

#include <jansson.h>
#include <stddef.h>

/*
 * Writes J as JSON text (jansson's FLAGS, e.g. JSON_INDENT(2) | JSON_PRESERVE_ORDER) followed
 * by a newline. On success *OUT is a new NUL-terminated string of *LEN bytes (LEN may be NULL;
 * the caller frees it) and the result is 0; on failure *OUT is NULL and the result is -ENOMEM
 * (J NULL counts as a failure to build it). J is only read. Thread-safe.
 */
int engine_json_dumps(char **out, size_t *len, const json_t *j, size_t flags);

#endif

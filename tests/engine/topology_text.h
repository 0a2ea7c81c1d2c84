/*
 * topology_text.h — a topology loaded from a text in a test, as the loader's tests (load,
 * inputs, derive) all do: the errors joined into one string to compare, the model kept when
 * asked. Failures of the test framework's checks end the test (cmocka).
 */
#ifndef UNISEC_TESTS_ENGINE_TOPOLOGY_TEXT_H
#define UNISEC_TESTS_ENGINE_TOPOLOGY_TEXT_H

#include "engine/topology.h"

/* Loads TEXT named NAME (imports resolving in BASE, refused when it is NULL) with INPUTS, the
 * values given to its inputs as the file inputs.yaml (NULL: none given). *RC gets the loader's
 * result; *KEEP the topology when KEEP is not NULL (NULL when it failed), else it is freed.
 * Returns the errors joined (caller frees), "" when there was none. */
char *topology_text_load(const char *text, const char *name, const char *base, const char *inputs,
                         struct engine_topology **keep, int *rc);

/* TEXT named t.yaml (no imports) loaded without an error (checked): the topology (caller frees). */
struct engine_topology *topology_text_ok(const char *text);

/* TEXT (named t.yaml) loaded with INPUTS (NULL: none) and derived for hvt, neither with an
 * error (checked): its D_TOSCA artifact, a new string (caller frees). */
char *topology_text_tosca(const char *text, const char *inputs);

#endif

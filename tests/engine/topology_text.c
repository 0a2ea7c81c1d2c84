/* topology_text.c — a topology loaded from a text in a test (topology_text.h). */
#include "topology_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

char *topology_text_load(const char *text, const char *name, const char *base, const char *inputs,
                         struct engine_topology **keep, int *rc)
{
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    *rc = engine_topology_load_inputs(&t, text, strlen(text), name, base, inputs,
                                      inputs != NULL ? strlen(inputs) : 0, "inputs.yaml", &d);
    out = engine_diag_join(&d);
    assert_non_null(out);
    engine_diag_free(&d);
    if (*rc != 0)
        assert_null(t);
    if (keep != NULL)
        *keep = t;
    else
        engine_topology_free(t);
    return out;
}

/* TEXT with INPUTS loaded without an error (checked). */
static struct engine_topology *topology_text_given(const char *text, const char *inputs)
{
    struct engine_topology *t = NULL;
    int rc;
    char *e = topology_text_load(text, "t.yaml", NULL, inputs, &t, &rc);

    assert_string_equal(e, "");
    assert_int_equal(rc, 0);
    free(e);
    return t;
}

struct engine_topology *topology_text_ok(const char *text)
{
    return topology_text_given(text, NULL);
}

char *topology_text_tosca(const char *text, const char *inputs)
{
    struct engine_topology *t = topology_text_given(text, inputs);
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    char *tosca;

    engine_diag_init(&d);
    assert_int_equal(engine_topology_derive(&x, t, NULL, ENGINE_TARGET_HVT, &d), 0);
    assert_int_equal(d.n, 0);
    tosca = strdup(engine_topology_derived_artifact(x, ENGINE_ARTIFACT_TOSCA, NULL));
    assert_non_null(tosca);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    engine_diag_free(&d);
    return tosca;
}

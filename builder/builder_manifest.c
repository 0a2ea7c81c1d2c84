/* builder_manifest.c — an image's manifest.json: what it is made of, its devices, its size and
 * hash. */
#include "builder_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/acl_blob.h"
#include "engine/json.h"

/* The manifest's name of each type of device. */
static const char *const builder_device_types[] = {
    [BUILDER_DEVICE_LISTEN] = "listen",
    [BUILDER_DEVICE_POLICY] = "policy",
    [BUILDER_DEVICE_PDP] = "pdp",
    [BUILDER_DEVICE_UPSTREAM] = "upstream",
};

static json_t *builder_manifest_json(const struct builder_spec *s, const char *id,
                                     const uint8_t sha[32], size_t size)
{
    json_t *j = json_object(), *mods = json_array(), *devs = json_array();
    char hex[65];
    const struct builder_module *m;
    struct builder_devices dv;

    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "node", json_string(s->node));
    json_object_set_new(j, "level", json_string(s->level));
    json_object_set_new(j, "target", json_string(s->target));
    for (size_t i = 0; i < s->nmodules; i++) {
        json_t *mo = json_object(), *props = json_object();
        for (size_t k = 0; k < s->modules[i].nprops; k++)
            json_object_set_new(props, s->modules[i].props[k].name,
                                json_string(s->modules[i].props[k].value));
        json_object_set_new(mo, "name", json_string(s->modules[i].name));
        json_object_set_new(mo, "properties", props);
        json_array_append_new(mods, mo);
    }
    json_object_set_new(j, "modules", mods);
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        json_object_set_new(j, "pdp", json_string(builder_prop(m, "pdp")));
        json_object_set_new(j, "policy", json_string(builder_prop(m, "policy")));
        if (s->acl_blob) {
            const struct engine_acl_blob_header *h = s->acl_blob;
            json_object_set_new(j, "policy_version", json_integer((json_int_t)h->policy_version));
            json_object_set_new(j, "acl_bytes", json_integer((json_int_t)s->acl_len));
        }
    }
    builder_devices(s, &dv);
    for (size_t i = 0; i < dv.n; i++) {
        json_t *o = json_pack("{s:s, s:s}", "type", builder_device_types[dv.v[i].type], "name",
                              dv.v[i].name);
        if (dv.v[i].port != 0)
            json_object_set_new(o, "port", json_integer(dv.v[i].port));
        json_array_append_new(devs, o);
    }
    json_object_set_new(j, "devices", devs);
    builder_hex(hex, sha, 32);
    json_object_set_new(j, "image_sha256", json_string(hex));
    json_object_set_new(j, "image_bytes", json_integer((json_int_t)size));
    json_object_set_new(j, "builder", json_string(BUILDER_FORMAT));
    return j;
}

int builder_manifest_text(char **out, size_t *len, const struct builder_spec *s, const char *id,
                          const uint8_t sha[32], size_t size)
{
    json_t *j = builder_manifest_json(s, id, sha, size);
    int r = engine_json_dumps(out, len, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return r;
}

/* builder_manifest.c — an image's manifest.json: what it is made of, its devices, its size and
 * hash; written from the spec, and read back by the one reader of that format. */
#include "builder_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/acl_blob.h"
#include "contract/acl_patch.h"
#include "engine/json.h"

/* The manifest's name of each type of device. */
static const char *const builder_device_types[] = {
    [BUILDER_DEVICE_LISTEN] = "listen", [BUILDER_DEVICE_POLICY] = "policy",
    [BUILDER_DEVICE_PDP] = "pdp",       [BUILDER_DEVICE_UPSTREAM] = "upstream",
    [BUILDER_DEVICE_TLS] = "tls",
};

static json_t *builder_manifest_json(const struct builder_spec *s, const char *id,
                                     const uint8_t sha[32], size_t head, size_t size)
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
                                json_string(s->modules[i].props[k].secret != NULL
                                                ? s->modules[i].props[k].secret
                                                : s->modules[i].props[k].value));
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
            const struct engine_acl_patch_header *ph = s->acl_patch;
            json_object_set_new(j, "policy_version",
                                json_integer((json_int_t)(ph ? ph->version : h->policy_version)));
            json_object_set_new(j, "acl_bytes", json_integer((json_int_t)s->acl_len));
            if (ph != NULL) { /* what `unisec verify` rebuilds the blob from */
                json_object_set_new(j, "policy_base_version",
                                    json_integer((json_int_t)h->policy_version));
                if (s->acl_base_commit != NULL)
                    json_object_set_new(j, "policy_base_commit", json_string(s->acl_base_commit));
                json_object_set_new(j, "patch_bytes", json_integer((json_int_t)s->acl_patch_len));
            }
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
    json_object_set_new(j, "head_sha256", json_string(hex));
    json_object_set_new(j, "head_bytes", json_integer((json_int_t)head));
    if (s->acl_blob) { /* the rules: the blob's own checksum, not a second pass over them */
        builder_hex(hex, ((const struct engine_acl_blob_header *)s->acl_blob)->sha256, 32);
        json_object_set_new(j, "rules_sha256", json_string(hex));
        if (s->acl_patch != NULL) { /* the patch's own checksum, likewise */
            builder_hex(hex, ((const struct engine_acl_patch_header *)s->acl_patch)->sha256, 32);
            json_object_set_new(j, "patch_sha256", json_string(hex));
        }
    }
    json_object_set_new(j, "image_bytes", json_integer((json_int_t)size));
    json_object_set_new(j, "builder", json_string(BUILDER_FORMAT));
    return j;
}

int builder_manifest_text(char **out, size_t *len, const struct builder_spec *s, const char *id,
                          const uint8_t sha[32], size_t head, size_t size)
{
    json_t *j = builder_manifest_json(s, id, sha, head, size);
    int r = engine_json_dumps(out, len, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return r;
}

/* ---- reading it back ---- */

#define BUILDER_WHY_MAX 256

/* What builder_manifest_load() hands out, and what its pointers point into. */
struct builder_manifest_own {
    struct builder_manifest m; /* first: the public part */
    json_t *json;              /* the parsed file: every string of M */
    struct builder_module *modules;
    struct builder_prop *props; /* every module's, one after the other */
    struct builder_device *devices;
};

void builder_manifest_free(struct builder_manifest *m)
{
    struct builder_manifest_own *o = (struct builder_manifest_own *)m;

    if (o == NULL)
        return;
    json_decref(o->json);
    free(o->modules);
    free(o->props);
    free(o->devices);
    free(o);
}

/* Says why (into WHY, BUILDER_WHY_MAX bytes) the manifest is refused; returns -EINVAL. */
static int builder_bad(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int builder_bad(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, BUILDER_WHY_MAX, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Is S exactly N lowercase hex digits (as builder_hex() writes them)? */
static int builder_is_hex(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        i++;
    return i == n && s[n] == '\0';
}

static int builder_load_modules(struct builder_manifest_own *o, json_t *mods, char *why)
{
    size_t i, k = 0, nprops = 0;
    json_t *mo, *v;
    const char *key;

    if (!json_is_array(mods))
        return builder_bad(why, "modules: expected an array");
    json_array_foreach(mods, i, mo)
    {
        if (!json_is_string(json_object_get(mo, "name")) ||
            !json_is_object(json_object_get(mo, "properties")))
            return builder_bad(why, "modules[%zu]: expected a name and properties", i);
        nprops += json_object_size(json_object_get(mo, "properties"));
    }
    o->modules = calloc(json_array_size(mods) ? json_array_size(mods) : 1, sizeof(*o->modules));
    o->props = calloc(nprops ? nprops : 1, sizeof(*o->props));
    if (o->modules == NULL || o->props == NULL)
        return -ENOMEM;
    json_array_foreach(mods, i, mo)
    {
        struct builder_module *m = &o->modules[i];
        m->name = json_string_value(json_object_get(mo, "name"));
        m->props = &o->props[k];
        json_object_foreach(json_object_get(mo, "properties"), key, v)
        {
            if (!json_is_string(v))
                return builder_bad(why, "modules[%zu]: property %s: expected text", i, key);
            o->props[k++] = (struct builder_prop){.name = key, .value = json_string_value(v)};
        }
        m->nprops = (size_t)(&o->props[k] - m->props);
    }
    o->m.modules = o->modules;
    o->m.nmodules = json_array_size(mods);
    return 0;
}

static int builder_load_devices(struct builder_manifest_own *o, json_t *devs, char *why)
{
    size_t i, ntypes = sizeof(builder_device_types) / sizeof(builder_device_types[0]);
    json_t *dv;

    if (!json_is_array(devs))
        return builder_bad(why, "devices: expected an array");
    o->devices = calloc(json_array_size(devs) ? json_array_size(devs) : 1, sizeof(*o->devices));
    if (o->devices == NULL)
        return -ENOMEM;
    json_array_foreach(devs, i, dv)
    {
        const char *type, *name;
        json_int_t port = 0;
        json_error_t je;
        size_t t = 0;

        if (json_unpack_ex(dv, &je, 0, "{s:s, s:s, s?I}", "type", &type, "name", &name, "port",
                           &port) < 0)
            return builder_bad(why, "devices[%zu]: %s", i, je.text);
        while (t < ntypes && strcmp(type, builder_device_types[t]) != 0)
            t++;
        if (t == ntypes)
            return builder_bad(why, "devices[%zu]: unknown type '%s'", i, type);
        if (json_object_get(dv, "port") != NULL && (port < 1 || port > 65535))
            return builder_bad(
                why, "devices[%zu]: port %" JSON_INTEGER_FORMAT ": expected 1 to 65535", i, port);
        o->devices[i] = (struct builder_device){
            .type = (enum builder_device_type)t, .name = name, .port = (long)port};
    }
    o->m.devices = o->devices;
    o->m.ndevices = json_array_size(devs);
    return 0;
}

/* Fills O->m from O->json; WHY says what is wrong when it returns -EINVAL. */
static int builder_load_fields(struct builder_manifest_own *o, char *why)
{
    struct builder_manifest *m = &o->m;
    const char *format = NULL, *id, *sha, *rsha = NULL, *psha = NULL, *bc = NULL;
    json_t *mods, *devs;
    json_int_t version = 0, acl = 0, size, head, base = 0, patch = 0;
    json_error_t je;
    int r;

    /* First the format: another builder's fields may mean other things. */
    if (json_unpack_ex(o->json, &je, 0, "{s:s}", "builder", &format) < 0 ||
        strcmp(format, BUILDER_FORMAT) != 0)
        return builder_bad(why, "written by builder '%s', read by '%s'", format ? format : "?",
                           BUILDER_FORMAT);
    if (json_unpack_ex(o->json, &je, 0,
                       "{s:s, s:s, s:s, s:s, s:o, s?s, s?s, s?I, s?I, s:o, s:s, s:I, s?s, s:I}",
                       "id", &id, "node", &m->node, "level", &m->level, "target", &m->target,
                       "modules", &mods, "pdp", &m->pdp, "policy", &m->policy, "policy_version",
                       &version, "acl_bytes", &acl, "devices", &devs, "head_sha256", &sha,
                       "head_bytes", &head, "rules_sha256", &rsha, "image_bytes", &size) < 0)
        return builder_bad(why, "%s", je.text);
    if (json_unpack_ex(o->json, &je, 0, "{s?I, s?s, s?I, s?s}", "policy_base_version", &base,
                       "policy_base_commit", &bc, "patch_bytes", &patch, "patch_sha256", &psha) < 0)
        return builder_bad(why, "%s", je.text);
    if ((psha != NULL && !builder_is_hex(psha, 64)) || (psha != NULL) != (patch > 0))
        return builder_bad(why, "patch_sha256 and patch_bytes: expected both or neither");
    if (bc != NULL && !builder_is_hex(bc, 40))
        return builder_bad(why, "policy_base_commit '%s': expected 40 hex digits", bc);
    if (psha != NULL) {
        memcpy(m->patch_sha256, psha, 65);
        if (bc != NULL)
            memcpy(m->base_commit, bc, 41);
        m->patch_bytes = (size_t)patch;
        m->base_version = (uint64_t)base;
    }
    if (!builder_is_hex(id, BUILDER_ID_LEN))
        return builder_bad(why, "id '%s': expected %d hex digits", id, BUILDER_ID_LEN);
    if (!builder_is_hex(sha, 64))
        return builder_bad(why, "head_sha256 '%s': expected 64 hex digits", sha);
    if (rsha != NULL && !builder_is_hex(rsha, 64))
        return builder_bad(why, "rules_sha256 '%s': expected 64 hex digits", rsha);
    if (acl < 0 || size < 0 || head < 0 || head > size)
        return builder_bad(why, "acl_bytes, head_bytes or image_bytes: expected a size");
    memcpy(m->id, id, BUILDER_ID_LEN + 1);
    memcpy(m->head_sha256, sha, 65);
    if (rsha != NULL)
        memcpy(m->rules_sha256, rsha, 65);
    m->head_bytes = (size_t)head;
    m->policy_version = (uint64_t)version; /* written as the blob's uint64_t cast to json_int_t */
    m->acl_bytes = (size_t)acl;
    m->image_bytes = (size_t)size;
    if ((r = builder_load_modules(o, mods, why)) < 0)
        return r;
    return builder_load_devices(o, devs, why);
}

int builder_manifest_load(const char *dir, struct builder_manifest **out, struct engine_diag *d)
{
    char *path = builder_fmt("%s/%s", dir, BUILDER_MANIFEST), *text = NULL;
    char why[BUILDER_WHY_MAX] = "";
    struct builder_manifest_own *o = NULL;
    json_error_t je;
    size_t len;
    int r;

    *out = NULL;
    if (path == NULL)
        return -ENOMEM;
    if ((r = builder_read(path, &text, &len)) < 0) {
        engine_diag_add(d, path, 0, 0, "cannot read the manifest: %s", strerror(-r));
    } else if ((o = calloc(1, sizeof(*o))) == NULL) {
        r = -ENOMEM;
    } else if ((o->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
        r = engine_diag_add(d, path, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0,
                            "cannot read the manifest: %s", je.text);
    } else if ((r = builder_load_fields(o, why)) == -EINVAL) {
        engine_diag_add(d, path, 0, 0, "not an image manifest of this builder: %s", why);
    }
    if (r == -ENOMEM)
        engine_diag_add(d, path, 0, 0, "cannot read the manifest: %s", strerror(ENOMEM));
    if (r == 0)
        *out = &o->m;
    else if (o != NULL)
        builder_manifest_free(&o->m);
    free(text);
    free(path);
    return r;
}

/* builder_spec.c — what an image is made of, read from its spec: its modules and their
 * properties, its devices, and the check that the builder can make it. */
#include "builder_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/acl_lookup.h"
#include "common/acl_patch.h"
#include "common/routes.h"

static int builder_name_ok(const char *s, size_t max, int dash)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              (dash && s[i] == '-')))
            return 0;
    return 1;
}

const char *builder_prop(const struct builder_module *m, const char *name)
{
    for (size_t i = 0; i < m->nprops; i++)
        if (strcmp(m->props[i].name, name) == 0)
            return m->props[i].value;
    return NULL;
}

const struct builder_module *builder_module_find(const struct builder_spec *s, const char *name)
{
    for (size_t i = 0; i < s->nmodules; i++)
        if (strcmp(s->modules[i].name, name) == 0)
            return &s->modules[i];
    return NULL;
}

/* The upstream device names (at most MAX) and ports (0: none) of lb_proxy's `backends`
 * parameter V ("NODE:PORT NODE:PORT"). 0, or -EINVAL when V is not such a list. */
static int builder_upstreams(const char *v, char names[][32], long *ports, size_t max, size_t *n)
{
    *n = 0;
    while (v && *v) {
        while (*v == ' ' || *v == ',' || *v == '\t')
            v++;
        size_t l = strcspn(v, " ,\t:");
        if (l == 0)
            break;
        if (l > 31 || *n == max)
            return -EINVAL;
        memcpy(names[*n], v, l);
        names[*n][l] = '\0';
        if (!builder_name_ok(names[*n], 31, 1))
            return -EINVAL;
        v += l;
        ports[*n] = *v == ':' ? strtol(v + 1, NULL, 10) : 0; /* for the runtime */
        (*n)++;
        v += strcspn(v, " ,\t");
    }
    return 0;
}

/* Each backend of lb_proxy's TLS (TLS_BACKENDS, "NODE NODE") has its key pinned in
 * tls_upstream's `pins` ("NODE=KEY NODE=KEY"): the guest would refuse it at its first request,
 * said here at build instead. 0, or -EINVAL with the reason in D. */
static int builder_tls_pins_check(const struct builder_spec *s, const char *tls_backends,
                                  struct engine_diag *d)
{
    const struct builder_module *up = builder_module_find(s, "tls_upstream");
    const char *pins = up ? builder_prop(up, "pins") : NULL;
    for (const char *v = tls_backends; v && *v;) {
        v += strspn(v, " ");
        size_t n = strcspn(v, " ");
        if (n == 0)
            break;
        int found = 0;
        for (const char *p = pins; p && *p && !found;) {
            p += strspn(p, " ");
            found = strncmp(p, v, n) == 0 && p[n] == '=' && p[n + 1] != '\0' && p[n + 1] != ' ';
            p += strcspn(p, " ");
        }
        if (!found)
            return engine_diag_add(d, NULL, 0, 0,
                                   "lb_proxy: backend %.*s serves HTTPS and no key is pinned for "
                                   "it (tls_upstream's pins: its certificate, tls/%.*s/cert, is "
                                   "missing or does not check)",
                                   (int)n, v, (int)n, v);
        v += n;
    }
    return 0;
}

/* S's patch: over its blob, whole (or, made by the caller, by its header: builder_spec's
 * acl_own); a base commit, when named, is a commit id. 0, or -1 with *WHY. */
static int builder_patch_ok(const struct builder_spec *s, const char **why)
{
    struct engine_acl_blob b;
    struct engine_acl_patch p;
    const char *c = s->acl_base_commit;

    if (c != NULL && (strlen(c) != 40 || strspn(c, "0123456789abcdef") != 40)) {
        *why = "its base commit is not 40 hex digits";
        return -1;
    }
    if (s->acl_own)
        return builder_patch_head_check(s, why);
    if (engine_acl_blob_open(&b, s->acl_blob, s->acl_len, why) < 0 ||
        engine_acl_patch_open(&p, s->acl_patch, s->acl_patch_len, &b, b.hdr->policy_version, why) <
            0)
        return -1;
    return 0;
}

int builder_spec_check(const struct builder_spec *s, struct engine_diag *d)
{
    int bad = 0;
    const char *src = builder_source_dir();

    if (s->node == NULL || !builder_name_ok(s->node, 64, 1))
        bad = engine_diag_add(d, NULL, 0, 0, "node name '%s': expected 1-64 of [a-z0-9_-]",
                              s->node ? s->node : "");
    if (s->level == NULL || !builder_name_ok(s->level, 64, 1))
        bad = engine_diag_add(d, NULL, 0, 0, "level name '%s': expected 1-64 of [a-z0-9_-]",
                              s->level ? s->level : "");
    if (s->target == NULL || (strcmp(s->target, "hvt") != 0 && strcmp(s->target, "spt") != 0))
        bad = engine_diag_add(d, NULL, 0, 0, "target '%s': expected hvt or spt",
                              s->target ? s->target : "");
    if (builder_module_find(s, "http_server") == NULL && builder_module_find(s, "lb_proxy") == NULL)
        bad = engine_diag_add(d, NULL, 0, 0,
                              "node %s: an image needs http_server or lb_proxy to serve anything",
                              s->node ? s->node : "");
    for (size_t i = 0; i < s->nmodules; i++) {
        const struct builder_module *m = &s->modules[i];
        struct stat st;
        char *dir = builder_fmt("%s/%s/%s", src, builder_paths.modules, m->name);
        if (!builder_name_ok(m->name, 31, 0) || dir == NULL || stat(dir, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            bad = engine_diag_add(d, NULL, 0, 0, "module '%s' has no sources in %s/%s", m->name,
                                  src, builder_paths.modules);
        free(dir);
        if (builder_module_find(s, m->name) != m)
            bad = engine_diag_add(d, NULL, 0, 0, "module %s appears twice in the chain", m->name);
    }
    const struct builder_module *m = builder_module_find(s, "dispatch");
    const char *routes = m ? builder_prop(m, "routes") : NULL;
    if (routes) {
        static struct mod_routes rt; /* 64 routes: too large for a worker's stack */
        static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
        size_t line, col;
        const char *why;
        pthread_mutex_lock(&rt_lock);
        if (mod_routes_parse(&rt, routes, strlen(routes), &line, &col, &why) < 0)
            bad = engine_diag_add(d, "dispatch.routes", (int)line, (int)col, "%s", why);
        pthread_mutex_unlock(&rt_lock);
    }
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        const char *pdp = builder_prop(m, "pdp"), *policy = builder_prop(m, "policy");
        if (pdp == NULL || (strcmp(pdp, "internal") && strcmp(pdp, "push") && strcmp(pdp, "pull")))
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "acl_pep: property pdp is '%s': expected internal, push or pull",
                                  pdp ? pdp : "");
        if (policy == NULL || !builder_name_ok(policy, ENGINE_ACL_NAME_MAX, 1))
            bad =
                engine_diag_add(d, NULL, 0, 0, "acl_pep: property policy: expected a policy name");
        if (pdp && strcmp(pdp, "internal") == 0) {
            const char *why = "no compiled rules were given";
            if (s->acl_blob == NULL ||
                (s->acl_own ? builder_blob_head_check(s->acl_blob, s->acl_len, &why)
                            : engine_acl_blob_check(s->acl_blob, s->acl_len, &why)) < 0)
                bad = engine_diag_add(
                    d, NULL, 0, 0, "acl_pep: an internal PDP needs the node's compiled rules: %s",
                    why);
            else if (s->acl_patch != NULL && builder_patch_ok(s, &why) < 0)
                bad = engine_diag_add(d, NULL, 0, 0,
                                      "acl_pep: the patch over the compiled rules: %s", why);
        } else if (s->acl_blob) {
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "acl_pep: compiled rules are linked in only for an internal PDP");
        }
    } else if (s->acl_blob || s->acl_patch) {
        bad = engine_diag_add(d, NULL, 0, 0, "compiled rules given but no acl_pep module");
    } else if (builder_module_find(s, "authn")) {
        bad =
            engine_diag_add(d, NULL, 0, 0, "authn needs acl_pep: the credentials are in its rules");
    }
    if ((m = builder_module_find(s, "lb_proxy")) != NULL) {
        char names[BUILDER_UPSTREAM_MAX][32];
        long ports[BUILDER_UPSTREAM_MAX];
        size_t n;
        if (builder_upstreams(builder_prop(m, "backends"), names, ports, BUILDER_UPSTREAM_MAX, &n) <
                0 ||
            n == 0)
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "lb_proxy: parameter backends: expected 1 to %d NODE:PORT",
                                  BUILDER_UPSTREAM_MAX);
        else if (builder_tls_pins_check(s, builder_prop(m, "tls_backends"), d) < 0)
            bad = -EINVAL;
    }
    return bad;
}

/* The port a listening module gives: the first module's property NAME (else ALT), or 0. */
static long builder_listen_port(const struct builder_spec *s, const char *name, const char *alt)
{
    for (size_t i = 0; i < s->nmodules; i++) {
        const char *port = builder_prop(&s->modules[i], name);
        if (port == NULL && alt != NULL)
            port = builder_prop(&s->modules[i], alt);
        if (port)
            return strtol(port, NULL, 10);
    }
    return 0;
}

/* With the tls module, HTTPS is served on the device "https" (https_port) when the node has
 * one, plain HTTP beside it on "http" only if plain_http; without https_port, on "http". The
 * guest's front layers TLS on "https", or on "http" when the image has no "https". */
static void builder_listeners(const struct builder_spec *s, struct builder_devices *out)
{
    const struct builder_module *tls = builder_module_find(s, "tls");
    long front = builder_listen_port(s, "http_port", "listen_port");
    long https = tls != NULL ? builder_listen_port(s, "https_port", NULL) : 0;
    const char *plain = tls != NULL ? builder_prop(tls, "plain_http") : NULL;

    if (https > 0)
        out->v[out->n++] =
            (struct builder_device){.type = BUILDER_DEVICE_LISTEN, .name = "https", .port = https};
    if (https <= 0 || (plain != NULL && strcmp(plain, "true") == 0))
        out->v[out->n++] =
            (struct builder_device){.type = BUILDER_DEVICE_LISTEN, .name = "http", .port = front};
}

void builder_devices(const struct builder_spec *s, struct builder_devices *out)
{
    const struct builder_module *m;
    long ports[BUILDER_UPSTREAM_MAX];
    size_t n = 0;

    out->n = 0;
    if (builder_module_find(s, "http_server") || builder_module_find(s, "lb_proxy"))
        builder_listeners(s, out);
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        const char *pdp = builder_prop(m, "pdp");
        if (strcmp(pdp, "push") == 0)
            out->v[out->n++] =
                (struct builder_device){.type = BUILDER_DEVICE_POLICY, .name = "policy"};
        else if (strcmp(pdp, "pull") == 0)
            out->v[out->n++] = (struct builder_device){.type = BUILDER_DEVICE_PDP, .name = "pdp"};
    }
    if (builder_module_find(s, "tls"))
        out->v[out->n++] = (struct builder_device){.type = BUILDER_DEVICE_TLS, .name = "tls"};
    if ((m = builder_module_find(s, "lb_proxy")) != NULL)
        builder_upstreams(builder_prop(m, "backends"), out->names, ports, BUILDER_UPSTREAM_MAX, &n);
    for (size_t i = 0; i < n; i++)
        out->v[out->n++] = (struct builder_device){.type = BUILDER_DEVICE_UPSTREAM,
                                                   .name = out->names[i],
                                                   .port = ports[i] > 0 ? ports[i] : 0};
}

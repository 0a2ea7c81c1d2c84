/* supervisor_spec.c — what a node runs: its spec checked against the image, the listening
 * sockets it names (bound once, shared by the node's instances), the tender's command line,
 * and the policy blobs (supervisor_int.h). */
#include "supervisor_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/tls_creds.h"

#include "engine/engine.h"

#define SUP_NAME_MAX 255

void sup_blob_unref(struct sup_blob *b)
{
    if (b && --b->refs == 0)
        free(b);
}

struct sup_blob *sup_blob_make(const void *blob, size_t len, const void *tail, size_t tail_len,
                               uint64_t version)
{
    size_t at = tail != NULL ? (len + 7) & ~(size_t)7 : len, all = at + tail_len;
    struct sup_blob *b = malloc(sizeof(*b) + 8 + all);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->version = version;
    b->len = 8 + all;
    for (int i = 0; i < 8; i++)
        b->frame[i] = (uint8_t)((uint64_t)all >> (8 * i));
    memcpy(b->frame + 8, blob, len);
    memset(b->frame + 8 + len, 0, at - len);
    if (tail != NULL)
        memcpy(b->frame + 8 + at, tail, tail_len);
    return b;
}

void sup_nspec_unref(struct sup_nspec *n)
{
    if (n == NULL || --n->refs > 0)
        return;
    for (size_t i = 0; i < n->nlisten; i++)
        n->listen[i]->refs--; /* closed and unlinked by sup_node_gc_listen() */
    for (size_t i = 0; n->argv && i < n->argc; i++)
        free(n->argv[i]);
    free(n->argv);
    if (n->tls) {
        explicit_bzero(n->tls, n->tls_len);
        free(n->tls);
    }
    free(n->image);
    free(n->image_id);
    free(n->level);
    free(n);
}

/* Finds or binds the node's socket for DEVICE at ADDR ("[HOST:]PORT"). */
static int sup_listen_get(struct sup_node *n, const char *device, const char *addr,
                          struct sup_listen **out, struct engine_diag *d)
{
    for (struct sup_listen *l = n->listens; l; l = l->next)
        if (strcmp(l->device, device) == 0 && strcmp(l->addr, addr) == 0) {
            l->refs++;
            *out = l;
            return 0;
        }
    char host[256] = "127.0.0.1";
    const char *port = tender_addr_split(addr, host, sizeof(host));
    if (port == NULL)
        return engine_diag_add(d, n->name, 0, 0, "%s: bad address '%s'", device, addr);
    long p = tender_port_parse(port);
    if (p < 0)
        return engine_diag_add(d, n->name, 0, 0, "%s: bad port in '%s'", device, addr);
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        sl = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        sl = sizeof(*in6);
    } else {
        return engine_diag_add(d, n->name, 0, 0, "%s: '%s' is not a numeric IPv4 or IPv6 address",
                               device, host);
    }
    struct sup_listen *l = calloc(1, sizeof(*l));
    int one = 1, rc = 0;
    if (l == NULL || (l->device = strdup(device)) == NULL || (l->addr = strdup(addr)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 1024) < 0) {
        rc = -errno;
        engine_diag_add(d, n->name, 0, 0, "%s: cannot listen on %s: %s%s", device, addr,
                        strerror(errno),
                        errno == EADDRINUSE ? " (another node or process holds that port)" : "");
        goto fail;
    }
    sl = sizeof(ss);
    getsockname(l->fd, (struct sockaddr *)&ss, &sl);
    l->port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    l->refs = 1;
    l->next = n->listens;
    n->listens = l;
    *out = l;
    return 0;
fail:
    if (l) {
        if (l->fd >= 0)
            close(l->fd);
        free(l->device), free(l->addr), free(l);
    }
    return rc;
}

void sup_node_gc_listen(struct sup_node *n)
{
    for (struct sup_listen **p = &n->listens; *p;) {
        struct sup_listen *l = *p;
        if (l->refs > 0) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        if (l->fd >= 0)
            close(l->fd);
        free(l->device), free(l->addr), free(l);
    }
}

static int sup_argv_add(struct sup_nspec *n, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sup_argv_add(struct sup_nspec *n, size_t *cap, const char *fmt, ...)
{
    if (ENGINE_GROW(&n->argv, cap, n->argc + 2) < 0)
        return -ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&n->argv[n->argc], fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -ENOMEM;
    n->argv[++n->argc] = NULL;
    return 0;
}

int sup_name_check(const char *name, struct engine_diag *d)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > SUP_NAME_MAX)
        return engine_diag_add(d, NULL, 0, 0, "a node name must be 1 to %d bytes", SUP_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return engine_diag_add(d, NULL, 0, 0,
                                   "node '%s': a node name may hold only A-Z a-z 0-9 _ . -", name);
    }
    return 0;
}

/* The image terminates TLS: NS keeps a copy of the spec's credentials, checked. */
static int sup_nspec_tls(const struct sup_node *n, const struct sup_spec *spec,
                         struct sup_nspec *ns, struct engine_diag *d)
{
    struct tls_creds cr;
    const char *why = "none were given";
    if (spec->tls == NULL || tls_creds_parse(spec->tls, spec->tls_len, &cr, &why) < 0)
        return engine_diag_add(d, spec->image, 0, 0,
                               "node %s: the image terminates TLS and needs the node's "
                               "certificate and key: %s",
                               n->name, why);
    if ((ns->tls = malloc(spec->tls_len)) == NULL)
        return -ENOMEM;
    memcpy(ns->tls, spec->tls, spec->tls_len);
    ns->tls_len = spec->tls_len;
    return 0;
}

int sup_nspec_make(struct sup *s, struct sup_node *n, const struct sup_spec *spec,
                   struct sup_nspec **out, struct engine_diag *d)
{
    struct tender_image img = {0};
    struct sup_nspec *ns = NULL;
    size_t cap = 0;
    int rc;
    (void)s;
    if (spec->image == NULL)
        return engine_diag_add(d, n->name, 0, 0, "no image given");
    if ((rc = tender_image_open(&img, spec->image, d)) < 0)
        return rc;
    const struct unisec_manifest *m = &img.manifest;
    if ((ns = calloc(1, sizeof(*ns))) == NULL) {
        rc = -ENOMEM;
        goto cleanup;
    }
    ns->refs = 1;
    ns->image = strdup(spec->image);
    ns->image_id = strdup(spec->image_id ? spec->image_id : spec->image);
    ns->level = strdup(spec->level ? spec->level : "");
    if (!ns->image || !ns->image_id || !ns->level) {
        rc = -ENOMEM;
        goto cleanup;
    }
    if ((rc = sup_argv_add(ns, &cap, "%s", s->tender)) < 0 ||
        (rc = sup_argv_add(ns, &cap, "%s", spec->image)) < 0 ||
        (rc = sup_argv_add(ns, &cap, "--quiet")) < 0 ||
        (rc = sup_argv_add(ns, &cap, "--control-fd")) < 0)
        goto cleanup;
    ns->ctl_arg = ns->argc;
    if ((rc = sup_argv_add(ns, &cap, "-1")) < 0)
        goto cleanup;

    /* Every port names a listening device; every listening device has a port. */
    for (size_t k = 0; k < spec->nports; k++) {
        const struct sup_port *p = &spec->ports[k];
        int found = 0;
        for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
            found |= m->dev[i].type == UNISEC_DEV_LISTEN && p->device &&
                     strcmp(m->dev[i].name, p->device) == 0;
        if (!found) {
            rc = engine_diag_add(d, spec->image, 0, 0,
                                 "node %s: the image declares no listening device named '%s'",
                                 n->name, p->device ? p->device : "(null)");
            goto cleanup;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(spec->ports[j].device, p->device) == 0) {
                rc = engine_diag_add(d, n->name, 0, 0, "listening device %s is given twice",
                                     p->device);
                goto cleanup;
            }
    }
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
        const struct unisec_device *dev = &m->dev[i];
        if (dev->type == UNISEC_DEV_POLICY)
            ns->has_policy = 1;
        if (dev->type == UNISEC_DEV_TLS && (rc = sup_nspec_tls(n, spec, ns, d)) < 0)
            goto cleanup;
        if (dev->type == UNISEC_DEV_LISTEN) {
            const struct sup_port *p = NULL;
            for (size_t k = 0; k < spec->nports && !p; k++)
                if (strcmp(spec->ports[k].device, dev->name) == 0)
                    p = &spec->ports[k];
            if (p == NULL || p->addr == NULL) {
                rc = engine_diag_add(d, spec->image, 0, 0,
                                     "node %s: the image listens on device '%s': give it a port",
                                     n->name, dev->name);
                goto cleanup;
            }
            if (ns->nlisten == TENDER_CONFIG_MAX) {
                rc = engine_diag_add(d, spec->image, 0, 0, "too many listening devices");
                goto cleanup;
            }
            if ((rc = sup_listen_get(n, dev->name, p->addr, &ns->listen[ns->nlisten], d)) < 0)
                goto cleanup;
            ns->nlisten++;
            if ((rc = sup_argv_add(ns, &cap, "--listen-fd")) < 0 ||
                (rc = sup_argv_add(ns, &cap, "%s=%d", dev->name, ns->listen[ns->nlisten - 1]->fd)) <
                    0)
                goto cleanup;
            ns->lfd_arg[ns->nlisten - 1] = ns->argc - 1;
        }
        if (dev->type == UNISEC_DEV_UPSTREAM || dev->type == UNISEC_DEV_PDP) {
            const struct sup_upstream *u = NULL;
            for (size_t k = 0; k < spec->nupstreams && !u; k++)
                if (spec->upstreams[k].device && strcmp(spec->upstreams[k].device, dev->name) == 0)
                    u = &spec->upstreams[k];
            if (u == NULL || u->addr == NULL) {
                rc = engine_diag_add(d, spec->image, 0, 0,
                                     "node %s: the image connects to %s '%s': give its address",
                                     n->name, dev->type == UNISEC_DEV_PDP ? "PDP" : "upstream",
                                     dev->name);
                goto cleanup;
            }
            if ((rc = sup_argv_add(ns, &cap, "--upstream")) < 0 ||
                (rc = sup_argv_add(ns, &cap, "%s=%s", dev->name, u->addr)) < 0)
                goto cleanup;
        }
    }
    if (ns->has_policy) {
        if ((rc = sup_argv_add(ns, &cap, "--policy-fd")) < 0)
            goto cleanup;
        ns->pol_arg = ns->argc;
        if ((rc = sup_argv_add(ns, &cap, "-1")) < 0)
            goto cleanup;
    }
    if (spec->mem_mib && (rc = sup_argv_add(ns, &cap, "--mem")) == 0)
        rc = sup_argv_add(ns, &cap, "%u", spec->mem_mib);
    ns->dd_arg = ns->argc;
    if (rc == 0)
        rc = sup_argv_add(ns, &cap, "--");
    for (size_t k = 0; rc == 0 && k < spec->nargs; k++)
        rc = sup_argv_add(ns, &cap, "%s", spec->args[k]);
    if (rc < 0)
        goto cleanup;
    *out = ns;
    ns = NULL;
cleanup:
    sup_nspec_unref(ns);
    sup_node_gc_listen(n);
    tender_image_free(&img);
    return rc;
}

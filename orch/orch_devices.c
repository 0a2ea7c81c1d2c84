/* orch_devices.c — the devices of a built image, as the builder reads its manifest back
 * (builder_manifest_load()), turned into the supervisor's ports and upstreams. */
#include "orch_int.h"

#include <stdio.h>
#include <string.h>

int orch_devices_read(struct orch_devices *dv, const char *dir, const char *host,
                      const struct orch_want *w, const char *pdp, struct engine_diag *d)
{
    struct builder_manifest *m;
    char path[4096];
    size_t k = 0;
    int r = 0;

    memset(dv, 0, sizeof(*dv));
    if ((r = builder_manifest_load(dir, &m, d)) < 0)
        return r; /* D names DIR/manifest.json */
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    for (size_t i = 0; i < m->ndevices && r == 0; i++) {
        const struct builder_device *dev = &m->devices[i];
        if (dev->type == BUILDER_DEVICE_POLICY) {
            dv->policy = 1;
            continue;
        }
        if (dev->type == BUILDER_DEVICE_TLS) {
            dv->tls = 1; /* its credentials go with the spec (orch_start()) */
            continue;
        }
        if (dev->type == BUILDER_DEVICE_PDP) {
            if (dv->nups < ORCH_DEV_MAX && k < 2 * ORCH_DEV_MAX) {
                orch_copy(dv->name[k], sizeof(dv->name[k]), dev->name);
                orch_copy(dv->addr[k], sizeof(dv->addr[k]), pdp);
                dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
                k++;
            }
            continue;
        }
        if (k == 2 * ORCH_DEV_MAX || dv->nports == ORCH_DEV_MAX || dv->nups == ORCH_DEV_MAX) {
            r = engine_diag_add(d, path, 0, 0, "more than %d devices", ORCH_DEV_MAX);
            break;
        }
        if (dev->port <= 0) {
            r = engine_diag_add(d, path, 0, 0,
                                "device '%s' has no port: give the node's port property a value",
                                dev->name);
            break;
        }
        orch_copy(dv->name[k], sizeof(dv->name[k]), dev->name);
        const struct orch_place *pl =
            dev->type == BUILDER_DEVICE_UPSTREAM ? orch_want_place(w, dev->name) : NULL;
        snprintf(dv->addr[k], sizeof(dv->addr[k]), "%s:%ld",
                 pl != NULL && pl->address != NULL ? pl->address : host, dev->port);
        if (dev->type == BUILDER_DEVICE_LISTEN)
            dv->ports[dv->nports++] = (struct sup_port){dv->name[k], dv->addr[k]};
        else
            dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
        k++;
    }
    builder_manifest_free(m);
    return r;
}

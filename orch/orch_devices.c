/* orch_devices.c — the devices of a built image, read back from the manifest.json the builder
 * wrote: the one place the orchestrator parses builder output (to become builder_manifest_load()
 * once the builder offers it). */
#include "orch_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* MANIFEST PARSING: the orchestrator's only reading of what the builder wrote;
 * builder_manifest_load() is to take its place. */
int orch_devices_read(struct orch_devices *dv, const char *dir, const char *host, const char *pdp,
                      struct engine_diag *d)
{
    char path[4096];
    json_error_t je;
    json_t *m, *devs, *dev;
    size_t i, k = 0;

    memset(dv, 0, sizeof(*dv));
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if ((m = json_load_file(path, 0, &je)) == NULL)
        return engine_diag_add(d, path, je.line, je.column, "cannot read the manifest: %s",
                               je.text);
    devs = json_object_get(m, "devices");
    json_array_foreach(devs, i, dev)
    {
        const char *type = json_string_value(json_object_get(dev, "type"));
        const char *name = json_string_value(json_object_get(dev, "name"));
        json_int_t port = json_integer_value(json_object_get(dev, "port"));
        if (type == NULL || name == NULL)
            continue;
        if (strcmp(type, "policy") == 0)
            dv->policy = 1;
        if (strcmp(type, "pdp") == 0 && dv->nups < ORCH_DEV_MAX && k < 2 * ORCH_DEV_MAX) {
            orch_copy(dv->name[k], sizeof(dv->name[k]), name);
            orch_copy(dv->addr[k], sizeof(dv->addr[k]), pdp);
            dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
            k++;
            continue;
        }
        if (strcmp(type, "listen") != 0 && strcmp(type, "upstream") != 0)
            continue;
        if (k == 2 * ORCH_DEV_MAX || dv->nports == ORCH_DEV_MAX || dv->nups == ORCH_DEV_MAX) {
            json_decref(m);
            return engine_diag_add(d, path, 0, 0, "more than %d devices", ORCH_DEV_MAX);
        }
        if (port <= 0 || port > 65535) {
            json_decref(m);
            return engine_diag_add(d, path, 0, 0,
                                   "device '%s' has no port: give the node's port property a "
                                   "value",
                                   name);
        }
        orch_copy(dv->name[k], sizeof(dv->name[k]), name);
        snprintf(dv->addr[k], sizeof(dv->addr[k]), "%s:%d", host, (int)port);
        if (strcmp(type, "listen") == 0)
            dv->ports[dv->nports++] = (struct sup_port){dv->name[k], dv->addr[k]};
        else
            dv->ups[dv->nups++] = (struct sup_upstream){dv->name[k], dv->addr[k]};
        k++;
    }
    json_decref(m);
    return 0;
}

/*
 * fs_status.c — `unisec status`: what a store holds, whether a daemon serves it, and whether
 * a node has failed, as text or JSON, with an exit status a probe can use (unisec-status(1)).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/json.h"
#include "fs.h"
#include "fs_int.h"

/* The exit statuses, as unisec-status(1) documents them. */
enum {
    FS_STATUS_OK = 0,         /* served, no node failed */
    FS_STATUS_ERROR = 1,      /* the store or the mount could not be read */
    FS_STATUS_NOT_SERVED = 3, /* no daemon serves the store (none mounted, or a stale mount) */
    FS_STATUS_FAILED = 4,     /* served, and a node failed (or its last change did) */
};

/* Undoes mountinfo's octal escapes (\040 for a space, \134 for a backslash) in place. */
static void fs_status_unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* The mount point of a unisec mount whose source is STORE (the daemon names the mount after
 * its store) into MNT[SIZE]. Returns 0 or -ENOENT. */
static int fs_status_find_mount(const char *store, char *mnt, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0;
    int r = -ENOENT;

    if (f == NULL)
        return -ENOENT;
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
    while (r != 0 && getline(&line, &cap, f) > 0) {
        char *save = NULL, *point = NULL, *type = NULL, *source = NULL;
        int field = 0, dash = 0;
        for (char *t = strtok_r(line, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save)) {
            if (field == 4)
                point = t;
            else if (dash == 0 && field > 5 && strcmp(t, "-") == 0)
                dash = field;
            else if (dash && field == dash + 1)
                type = t;
            else if (dash && field == dash + 2)
                source = t;
            field++;
        }
        if (point == NULL || type == NULL || source == NULL || strcmp(type, "fuse.unisec") != 0)
            continue;
        fs_status_unescape(source);
        fs_status_unescape(point);
        if (strcmp(source, store) == 0 && strlen(point) < size) {
            memcpy(mnt, point, strlen(point) + 1);
            r = 0;
        }
    }
    free(line);
    fclose(f);
    return r;
}

/* The whole of MNT/REL (a file of the mount), or NULL. */
static char *fs_status_read(const char *mnt, const char *rel, const char *node)
{
    char path[PATH_MAX];
    char *buf = NULL;
    size_t len = 0;
    FILE *f, *out;

    snprintf(path, sizeof(path), "%s/nodes/%s/%s", mnt, node, rel);
    if ((f = fopen(path, "re")) == NULL)
        return NULL;
    if ((out = open_memstream(&buf, &len)) != NULL) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, out);
        if (ferror(f)) {
            fclose(out);
            free(buf);
            buf = NULL;
        } else if (fclose(out) != 0) {
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Has the node whose status.json is J failed? "failed", or an older instance still serving
 * after a change that failed (the two `settle` counts as failed). */
static int fs_status_node_failed(const json_t *j)
{
    const char *state = json_string_value(json_object_get(j, "state"));
    const json_t *err = json_object_get(j, "error");

    return (state != NULL && strcmp(state, "failed") == 0) || (err != NULL && !json_is_null(err));
}

static int fs_status_last_cb(const struct engine_store_commit_info *info, void *arg)
{
    char ts[32];

    fs_time_format(ts, sizeof(ts), (time_t)info->time);
    *(json_t **)arg = json_pack("{s:s, s:s, s:s, s:s}", "id", info->id, "time", ts, "author",
                                info->author_name, "summary", info->summary);
    return 1;
}

/* HOST's last record (or a store's record on main, from before records had refs) appended to
 * HOSTS as {host, record, lines}, its lines to ALL. */
static void fs_status_host(struct fs_ctx *c, const char *host, json_t *hosts, json_t *all)
{
    json_t *lines;
    char *dep = NULL, id[41];
    size_t dlen = 0;

    if (fs_record_last(c->store, host, &dep, &dlen, id, NULL) < 0 || (lines = json_array()) == NULL)
        goto out;
    for (char *save = NULL, *l = strtok_r(dep, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save))
        if (l[0] != '#') {
            json_array_append_new(lines, json_string(l));
            json_array_append_new(all, json_string(l));
        }
    json_array_append_new(hosts,
                          json_pack("{s:s, s:s, s:o}", "host", host, "record", id, "lines", lines));
out:
    free(dep);
}

struct fs_status_hosts {
    struct fs_ctx *c;
    json_t *hosts, *all;
};

static int fs_status_ref_cb(const char *refname, const char *id, void *arg)
{
    struct fs_status_hosts *h = arg;

    (void)id;
    fs_status_host(h->c, refname + strlen(ENGINE_STORE_DEPLOYED_PREFIX), h->hosts, h->all);
    return 0;
}

/* What status reports, gathered once and printed as text or JSON. */
static json_t *fs_status_gather(struct fs_ctx *c, const char *mnt, int served)
{
    json_t *last = NULL, *nodes = json_array(), *deployed = json_array(), *hosts = json_array();
    struct fs_status_hosts arg = {.c = c, .hosts = hosts, .all = deployed};
    size_t failed = 0;

    engine_store_log(c->store, 1, fs_status_last_cb, &last, NULL);
    for (size_t i = 0; nodes != NULL && i < engine_topology_derived_count(c->snap->derived); i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(c->snap->derived, i);
        const struct engine_topology_image *img = &p->images[p->current];
        json_t *st = NULL;
        if (served) {
            char *text = fs_status_read(mnt, "status.json", p->node);
            st = text != NULL ? json_loads(text, 0, NULL) : NULL;
            free(text);
        }
        int bad = st != NULL && fs_status_node_failed(st);
        failed += bad;
        json_array_append_new(nodes,
                              json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", p->node, "level",
                                        img->level, "pdp", engine_pdp_name(img->pdp), "status",
                                        st != NULL ? st : json_null(), "failed", bad));
    }
    /* Every host's last record; a store from before records left main has its on main. */
    if (hosts != NULL && deployed != NULL) {
        engine_store_refs(c->store, ENGINE_STORE_DEPLOYED_PREFIX, fs_status_ref_cb, &arg, NULL);
        if (json_array_size(hosts) == 0)
            fs_status_host(c, ENGINE_STORE_HOST_LOCAL, hosts, deployed);
        if (json_array_size(hosts) == 0) {
            json_decref(deployed);
            deployed = json_null();
        }
    }
    return json_pack(
        "{s:s, s:s, s:o, s:{s:I, s:I, s:I}, s:b, s:s?, s:o, s:I, s:o, s:o}", "store", c->store_dir,
        "head", c->snap->head, "last_change", last != NULL ? last : json_null(), "policy", "rules",
        (json_int_t)c->snap->acl_stats.rules, "groups", (json_int_t)c->snap->acl_stats.groups,
        "credentials", (json_int_t)c->snap->acl_stats.credentials, "served", served, "mount",
        served ? mnt : NULL, "nodes", nodes, "failed", (json_int_t)failed, "deployed", deployed,
        "hosts", hosts);
}

static void fs_status_text(const json_t *j)
{
    const json_t *last = json_object_get(j, "last_change"), *dep = json_object_get(j, "deployed");
    const json_t *pol = json_object_get(j, "policy"), *n;
    size_t i;

    printf("store: %s at %.12s\n", json_string_value(json_object_get(j, "store")),
           json_string_value(json_object_get(j, "head")));
    if (json_is_object(last))
        printf("last change: %.12s %s %s: %s\n", json_string_value(json_object_get(last, "id")),
               json_string_value(json_object_get(last, "time")),
               json_string_value(json_object_get(last, "author")),
               json_string_value(json_object_get(last, "summary")));
    printf("policy: %lld rules, %lld groups, %lld credentials\n",
           (long long)json_integer_value(json_object_get(pol, "rules")),
           (long long)json_integer_value(json_object_get(pol, "groups")),
           (long long)json_integer_value(json_object_get(pol, "credentials")));
    if (json_is_true(json_object_get(j, "served")))
        printf("daemon: serving it on %s\n", json_string_value(json_object_get(j, "mount")));
    else
        printf("daemon: none serves this store\n");
    json_array_foreach(json_object_get(j, "nodes"), i, n)
    {
        const json_t *st = json_object_get(n, "status");
        printf("node %s: level %s, pdp %s", json_string_value(json_object_get(n, "name")),
               json_string_value(json_object_get(n, "level")),
               json_string_value(json_object_get(n, "pdp")));
        if (json_is_object(st)) {
            const char *err = json_string_value(json_object_get(st, "error"));
            const char *why = json_string_value(json_object_get(st, "why"));
            printf("; %s", json_string_value(json_object_get(st, "state")));
            if (why != NULL)
                printf(" (%s)", why);
            if (err != NULL)
                printf("; last change failed: %s", err);
        }
        printf("\n");
    }
    json_array_foreach(json_object_get(j, "hosts"), i, n)
    {
        const json_t *l;
        size_t k;
        printf("last deployment recorded by host %s (record %.12s):\n",
               json_string_value(json_object_get(n, "host")),
               json_string_value(json_object_get(n, "record")));
        json_array_foreach(json_object_get(n, "lines"), k, l)
        {
            printf("  %s\n", json_string_value(l));
        }
    }
    if (!json_is_array(dep))
        printf("instances: nothing was ever deployed from this store\n");
}

int fs_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "store", .has_arg = required_argument, .val = 'S'},
        {.name = "json", .has_arg = no_argument, .val = 'J'},
        {0},
    };
    struct engine_cmd cmd = {
        .name = "unisec status", .usage = "unisec status --store=STORE [--json]", .longs = opts};
    const char *store = NULL;
    char mnt[PATH_MAX] = "";
    struct fs_ctx c;
    struct stat st;
    int opt, json = 0, served = 0, unreadable = 0, rc;
    json_t *j;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'S')
            store = optarg;
        else if (opt == 'J')
            json = 1;
        else
            return ENGINE_CMD_USAGE;
    }
    if (optind < argc)
        return engine_cmd_usage(&cmd, "unexpected '%s' (the store is given with --store)",
                                argv[optind]);
    if (store == NULL)
        return engine_cmd_usage(&cmd, "expected --store=STORE");
    if (fs_ctx_open(&c, store, ENGINE_TARGET_HVT, "status") < 0) {
        fs_ctx_close(&c);
        return FS_STATUS_ERROR;
    }
    /* Served: mounted, and the daemon answers (a mount whose daemon died says ENOTCONN). */
    if (fs_status_find_mount(c.store_dir, mnt, sizeof(mnt)) == 0) {
        char readme[PATH_MAX + 8];
        snprintf(readme, sizeof(readme), "%s/README", mnt);
        served = stat(readme, &st) == 0 || errno == EACCES;
        unreadable = served && access(readme, R_OK) != 0;
    }
    if (unreadable) {
        /* Served, but not to this user (a mount without -o allow_other): no node is known. */
        fprintf(stderr,
                "unisec status: %s serves the store but cannot be read by this user (mounted "
                "without -o allow_other?): %s\n",
                mnt, strerror(errno));
        fs_ctx_close(&c);
        return FS_STATUS_ERROR;
    }
    if ((j = fs_status_gather(&c, mnt, served)) == NULL) {
        fprintf(stderr, "unisec status: out of memory\n");
        fs_ctx_close(&c);
        return FS_STATUS_ERROR;
    }
    rc = !served                                            ? FS_STATUS_NOT_SERVED
         : json_integer_value(json_object_get(j, "failed")) ? FS_STATUS_FAILED
                                                            : FS_STATUS_OK;
    if (json) {
        char *text = NULL;
        if (engine_json_dumps(&text, NULL, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
            fprintf(stderr, "unisec status: out of memory\n");
            rc = FS_STATUS_ERROR;
        } else {
            fputs(text, stdout);
        }
        free(text);
    } else {
        fs_status_text(j);
    }
    json_decref(j);
    fs_ctx_close(&c);
    return rc;
}

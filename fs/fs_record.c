/* fs_record.c — the orchestrator's deployment records: each host commits them on its own ref,
 * refs/unisec/deployed/HOST, never on main, so that main reads as the history of decisions and
 * a push to main never has to wait for (or rebase over) a deployment. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_int.h"
#include "fs_remote.h"
#include "orch/orch.h"

const char *fs_record_host(const struct fs_ctx *c)
{
    return c->host_name != NULL ? c->host_name : ENGINE_STORE_HOST_LOCAL;
}

int fs_apply_record(struct fs_ctx *c, const char *node, const char *text, size_t len,
                    const char *msg, const void *patch, size_t patch_len)
{
    const struct engine_store_file files[] = {{FS_DEPLOYED_PATH, text, len},
                                              {ORCH_RECORD_PATCH, patch, patch_len}};
    struct engine_store_author_buf ab;
    struct engine_diag diag = {0};
    char id[41] = "", ref[ENGINE_STORE_REF_MAX];
    int rc;

    if ((rc = engine_store_deployed_ref(ref, fs_record_host(c))) < 0) {
        fs_event(c, "%s: deployment not recorded: host name %s cannot name a ref", node,
                 fs_record_host(c));
        return rc;
    }
    if ((rc = engine_store_author_from_uid(&ab, getuid())) < 0)
        return rc;
    /* The daemon is the author, at its user's address. */
    struct engine_store_author daemon = {"unisec", ab.author.email};
    for (int attempt = 0; attempt < FS_RECORD_TRIES; attempt++) {
        if (attempt > 0) {
            /* Give the other git process time to finish (20 ms, 40 ms, ...). */
            engine_diag_free(&diag);
            engine_diag_init(&diag);
            usleep(20000u << (attempt - 1));
        }
        rc = engine_store_commit_ref_files(c->store, ref, files, patch != NULL ? 2 : 1, &daemon,
                                           msg, id, &diag);
        if (rc != -EAGAIN)
            break;
    }
    if (rc < 0) {
        char *why = engine_diag_join(&diag);
        fs_event(c, "%s: deployment not recorded in the store: %s", node,
                 why != NULL ? why : strerror(-rc));
        free(why);
    } else {
        fs_count(&c->commits[FS_SRC_DEPLOY]);
        fs_event(c, "%s: deployment recorded as commit %.12s on %s", node, id, ref);
        /* The remote's watcher pushes it soon, never in a write's way; a full counter means
         * an exchange is pending already. */
        uint64_t records = FS_REMOTE_KICK_RECORDS;
        if (c->remote != NULL && c->remote_kick >= 0 &&
            write(c->remote_kick, &records, sizeof(records)) < 0) {
        }
    }
    engine_diag_free(&diag);
    return rc < 0 ? rc : 0;
}

static int fs_record_when_cb(const struct engine_store_commit_info *info, void *arg)
{
    *(int64_t *)arg = info->time;
    return 1;
}

int fs_record_last(const struct engine_store *store, const char *host, char **text, size_t *len,
                   char id[41], int64_t *when)
{
    char ref[ENGINE_STORE_REF_MAX], at[41];
    int rc;

    *text = NULL;
    *len = 0;
    if (engine_store_deployed_ref(ref, host) < 0)
        return -ENOENT;
    rc = engine_store_ref_id(store, ref, at, NULL);
    if (rc == -ENOENT && strcmp(host, ENGINE_STORE_HOST_LOCAL) == 0) {
        /* A store from before records left main. */
        engine_store_head(store, at, NULL);
        rc = 0;
    }
    if (rc < 0 || (rc = engine_store_read_at(store, at, FS_DEPLOYED_PATH, text, len, NULL)) < 0)
        return rc;
    if (id != NULL)
        snprintf(id, 41, "%s", at);
    if (when != NULL) {
        *when = 0;
        engine_store_log_from(store, at, 1, fs_record_when_cb, when, NULL);
    }
    return 0;
}

/* NODE's line of TEXT (without the node's name) into OUT; 0 or -ENOENT. */
static int fs_record_line(const char *text, const char *node, char *out, size_t cap)
{
    size_t k = strlen(node);

    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, node, k) == 0 && p[k] == ' ') {
            snprintf(out, cap, "%.*s", (int)strcspn(p + k + 1, "\n"), p + k + 1);
            return 0;
        }
    return -ENOENT;
}

/* What HOST last recorded of NODE: the line, the record and its time; -ENOENT when none. */
static int fs_record_of(struct fs_ctx *c, const char *node, const char *host, char *line,
                        size_t cap, char id[41], char ts[32])
{
    char *text = NULL;
    size_t len;
    int64_t when = 0;
    int rc;

    if ((rc = fs_record_last(c->store, host, &text, &len, id, &when)) == 0)
        rc = fs_record_line(text, node, line, cap);
    free(text);
    fs_time_format(ts, 32, (time_t)when);
    return rc;
}

void fs_record_status(struct fs_ctx *c, const char *node, const char *host, FILE *out)
{
    char line[1024], id[41], ts[32];

    if (host == NULL)
        host = ENGINE_STORE_HOST_LOCAL;
    if (fs_record_of(c, node, host, line, sizeof(line), id, ts) == 0)
        fprintf(out, "last deployed by host %s: %s (record %.12s, %s)\n", host, line, id, ts);
    else
        fprintf(out, "host %s has recorded no deployment of %s\n", host, node);
}

struct json_t *fs_record_status_json(struct fs_ctx *c, const char *node, const char *host)
{
    char line[1024], id[41], ts[32];

    if (host == NULL)
        host = ENGINE_STORE_HOST_LOCAL;
    if (fs_record_of(c, node, host, line, sizeof(line), id, ts) < 0)
        return json_pack("{s:s, s:n, s:n, s:n}", "host", host, "record", "time", "line");
    return json_pack("{s:s, s:s, s:s, s:s}", "host", host, "record", id, "time", ts, "line", line);
}

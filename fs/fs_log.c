/* fs_log.c — the mount's bounded logs: `events`, `events.json` and `errors`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/json.h"
#include "fs_int.h"

void fs_log_init(struct fs_log *l, size_t max, size_t max_lines)
{
    memset(l, 0, sizeof(*l));
    l->max = max;
    l->max_lines = max_lines;
}

void fs_log_free(struct fs_log *l)
{
    free(l->buf);
    memset(l, 0, sizeof(*l));
}

/* Drops whole lines from the front until at most KEEP bytes remain. */
static void fs_log_drop_to(struct fs_log *l, size_t keep)
{
    size_t cut = 0;

    while (l->len - cut > keep || (l->max_lines > 0 && l->lines > l->max_lines)) {
        char *nl = memchr(l->buf + cut, '\n', l->len - cut);
        if (nl == NULL) {
            cut = l->len;
            l->lines = 0;
            break;
        }
        cut = (size_t)(nl - l->buf) + 1;
        l->lines--;
    }
    memmove(l->buf, l->buf + cut, l->len - cut);
    l->len -= cut;
    l->buf[l->len] = '\0';
}

/* Room for N more bytes (and the NUL): 0 or -ENOMEM. A bounded log takes its whole room at
 * its first line (the pages it does not write yet cost no memory), so that it never copies
 * itself to grow and the daemon's heap does not move with its lines (the `metrics` heap gauge
 * then shows what the rest of the daemon holds); only a line longer than the slack grows it. */
static int fs_log_room(struct fs_log *l, size_t n)
{
    size_t need = l->len + n + 1;

    if (l->cap == 0 && l->max > 0 && need <= l->max + FS_LOG_SLACK)
        need = l->max + FS_LOG_SLACK;
    return ENGINE_GROW(&l->buf, &l->cap, need) < 0 ? -ENOMEM : 0;
}

/* The line of N bytes just written at the end (newline included) is kept. */
static void fs_log_commit(struct fs_log *l, time_t now, size_t n)
{
    l->len += n;
    l->buf[l->len] = '\0';
    l->lines++;
    l->mtime = now;
    if (l->max > 0 && l->len > l->max)
        fs_log_drop_to(l, l->max / 2);
    else if (l->max_lines > 0 && l->lines > l->max_lines)
        fs_log_drop_to(l, l->len);
}

int fs_log_append(struct fs_log *l, time_t now, const char *line)
{
    char ts[32];
    size_t tl, ll = strlen(line), n;
    char *p;

    fs_time_format(ts, sizeof(ts), now);
    tl = strlen(ts);
    n = tl + 1 + ll + 1;
    if (fs_log_room(l, n) < 0)
        return -ENOMEM;
    p = l->buf + l->len;
    memcpy(p, ts, tl);
    p[tl] = ' ';
    for (size_t i = 0; i < ll; i++) {
        char ch = line[i];
        p[tl + 1 + i] = (ch == '\n' || ch == '\r') ? ' ' : ch;
    }
    p[n - 1] = '\n';
    fs_log_commit(l, now, n);
    return 0;
}

int fs_log_append_json(struct fs_log *l, time_t now, const char *level, const char *line)
{
    char ts[32], head[128], *safe = NULL;
    json_t *msg = json_string(line);
    size_t hl, ml;
    int r = -ENOMEM;

    if (msg == NULL && (safe = strdup(line)) != NULL) {
        /* Not UTF-8 (a name or a value a writer gave): its non-ASCII bytes are shown as '?'. */
        for (char *p = safe; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        msg = json_string(safe);
        free(safe);
    }
    /* The time and the level are plain text: only the message needs jansson's escaping, written
     * in place (an object made and dumped for each event cost more than the rest of it). */
    fs_time_format(ts, sizeof(ts), now);
    hl = (size_t)snprintf(head, sizeof(head), "{\"time\":\"%s\",\"level\":\"%s\",\"message\":", ts,
                          level);
    if (msg != NULL && hl < sizeof(head) && (ml = json_dumpb(msg, NULL, 0, JSON_ENCODE_ANY)) > 0 &&
        (r = fs_log_room(l, hl + ml + 2)) == 0) {
        char *p = l->buf + l->len;
        memcpy(p, head, hl);
        json_dumpb(msg, p + hl, ml, JSON_ENCODE_ANY);
        memcpy(p + hl + ml, "}\n", 2);
        fs_log_commit(l, now, hl + ml + 2);
    }
    json_decref(msg);
    return r;
}

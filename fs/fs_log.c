/* fs_log.c — the mount's bounded text logs: `events` and `errors`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
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

int fs_log_append(struct fs_log *l, time_t now, const char *line)
{
    char ts[32];
    size_t tl, ll = strlen(line), need;

    fs_time_format(ts, sizeof(ts), now);
    tl = strlen(ts);
    need = l->len + tl + 1 + ll + 1;
    if (ENGINE_GROW(&l->buf, &l->cap, need + 1) < 0)
        return -ENOMEM;
    memcpy(l->buf + l->len, ts, tl);
    l->buf[l->len + tl] = ' ';
    for (size_t i = 0; i < ll; i++) {
        char ch = line[i];
        l->buf[l->len + tl + 1 + i] = (ch == '\n' || ch == '\r') ? ' ' : ch;
    }
    l->buf[need - 1] = '\n';
    l->buf[need] = '\0';
    l->len = need;
    l->lines++;
    l->mtime = now;
    if (l->max > 0 && l->len > l->max)
        fs_log_drop_to(l, l->max / 2);
    else if (l->max_lines > 0 && l->lines > l->max_lines)
        fs_log_drop_to(l, l->len);
    return 0;
}

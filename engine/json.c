/* json.c — JSON text through a buffer whose first failure is final (json.h). */
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct engine_json_buf {
    char *buf;
    size_t len, cap;
    int failed;
};

static int engine_json_put(const char *s, size_t n, void *arg)
{
    struct engine_json_buf *b = arg;

    if (b->failed)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->buf, cap)) == NULL) {
            b->failed = 1;
            return -1;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    return 0;
}

int engine_json_dumps(char **out, size_t *len, const json_t *j, size_t flags)
{
    struct engine_json_buf b = {0};

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (j == NULL)
        return -ENOMEM;
    if (json_dump_callback(j, engine_json_put, &b, flags) != 0 || b.failed ||
        engine_json_put("\n", 1, &b) < 0) {
        free(b.buf);
        return -ENOMEM;
    }
    b.buf[b.len] = '\0';
    *out = b.buf;
    if (len != NULL)
        *len = b.len;
    return 0;
}

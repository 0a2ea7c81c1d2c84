/* json.c — JSON text through a buffer whose first failure is final (json.h). */
#include "json.h"
#include "grow.h"

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
    /* A document starts with a page (4096 bytes), not engine_grow()'s 16: it is seldom smaller. */
    if (ENGINE_GROW(&b->buf, &b->cap, b->len + n + 1 < 4096 ? 4096 : b->len + n + 1) < 0) {
        b->failed = 1;
        return -1;
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

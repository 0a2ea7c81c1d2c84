/* name_index.c — positions of named elements sorted by name, for O(log n) lookups
 * (name_index.h). */
#include "name_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Where an index's elements are, for the comparison functions. */
struct name_index_of {
    const char *base;
    size_t stride, offset;
};

static const char *name_index_name(const struct name_index_of *of, size_t pos)
{
    const char *name;
    memcpy(&name, of->base + pos * of->stride + of->offset, sizeof(name));
    return name;
}

static int name_index_cmp(const void *a, const void *b, void *arg)
{
    const char *x = name_index_name(arg, *(const size_t *)a);
    const char *y = name_index_name(arg, *(const size_t *)b);
    if (x == NULL || y == NULL)
        return (x != NULL) - (y != NULL);
    return strcmp(x, y);
}

int engine_name_index_build(size_t **out, const void *base, size_t n, size_t stride, size_t offset)
{
    struct name_index_of of = {base, stride, offset};
    size_t *v;

    *out = NULL;
    if (n == 0)
        return 0;
    if ((v = malloc(n * sizeof(*v))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    qsort_r(v, n, sizeof(*v), name_index_cmp, &of);
    *out = v;
    return 0;
}

/* bsearch's key: the name sought and where the index's elements are. */
struct name_index_key {
    const char *name;
    struct name_index_of of;
};

static int name_index_key_cmp(const void *k, const void *e)
{
    const struct name_index_key *key = k;
    const char *y = name_index_name(&key->of, *(const size_t *)e);
    return y == NULL ? 1 : strcmp(key->name, y);
}

int engine_name_index_find(const size_t *index, const void *base, size_t n, size_t stride,
                           size_t offset, const char *name)
{
    struct name_index_key key = {name, {base, stride, offset}};
    const size_t *hit;

    if (index == NULL || name == NULL)
        return -1;
    hit = bsearch(&key, index, n, sizeof(*index), name_index_key_cmp);
    return hit != NULL ? (int)*hit : -1;
}

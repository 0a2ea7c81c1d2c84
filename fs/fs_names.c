/* fs_names.c — the mount's rules for names and values, its commit messages, and its byte
 * strings (pure). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

static const char *const fs_file_paths[FS_FILE_N] = {
    [FS_FILE_TOPOLOGY] = "topology.yaml",      [FS_FILE_LEVELS] = "state/levels",
    [FS_FILE_PROPERTIES] = "state/properties", [FS_FILE_ACL] = "policy/acl",
    [FS_FILE_GROUPS] = "policy/groups",        [FS_FILE_CREDENTIALS] = "policy/credentials",
    [FS_FILE_INPUTS] = "inputs.yaml",
};

const char *fs_file_path(enum fs_file f)
{
    return (unsigned)f < FS_FILE_N ? fs_file_paths[f] : NULL;
}

/* The bound of a whole file, however it is changed (a rules file of policy/acl.d, FS_FILE_N:
 * a policy file's). */
static const size_t fs_file_max[FS_FILE_N + 1] = {
    [FS_FILE_TOPOLOGY] = FS_TOPOLOGY_MAX, [FS_FILE_LEVELS] = FS_POLICY_MAX,
    [FS_FILE_PROPERTIES] = FS_POLICY_MAX, [FS_FILE_ACL] = FS_POLICY_MAX,
    [FS_FILE_GROUPS] = FS_POLICY_MAX,     [FS_FILE_CREDENTIALS] = FS_POLICY_MAX,
    [FS_FILE_INPUTS] = FS_TOPOLOGY_MAX,   [FS_FILE_N] = FS_POLICY_MAX,
};

size_t fs_file_bound(enum fs_file f)
{
    return fs_file_max[f];
}

int fs_name_check(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    if (n > FS_NAME_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '/' || ch < 0x20 || ch == 0x7f)
            return -EINVAL;
    }
    return 0;
}

static int fs_all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int fs_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int fs_name_is_temp(const char *name)
{
    size_t n = strlen(name);

    if (fs_name_check(name) < 0)
        return 0;
    /* vim's probe for "can I create a file here and give it the owner": 4913, 5036, ... */
    if (fs_all_digits(name))
        return 1;
    /* Hidden names: vim's swap (.x.swp), emacs' lock (.#x), rsync and install (.x.XXXXXX),
     * and what scripts usually call their temporary file (.x.tmp). */
    if (name[0] == '.' && n > 1)
        return 1;
    /* Backups (vim, nano -B, emacs) and emacs' auto-save file. */
    if (name[n - 1] == '~' || (n > 2 && name[0] == '#' && name[n - 1] == '#'))
        return 1;
    /* sed -i: "sed" and six random characters. */
    if (n == 9 && strncmp(name, "sed", 3) == 0)
        return 1;
    /* Python's tempfile (tmpXXXXXXXX), mktemp (tmp.XXXXXXXXXX), and x.tmp. */
    if (strncmp(name, "tmp", 3) == 0 && n > 3)
        return 1;
    if (fs_ends_with(name, ".tmp") || fs_ends_with(name, ".swp"))
        return 1;
    return 0;
}

int fs_value_parse(char **out, const char *buf, size_t len, const char **why)
{
    char *v;

    *out = NULL;
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len == 0) {
        *why = "the value is empty; write one value, e.g. `echo VALUE > FILE`";
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') {
            *why = "the file holds one value on one line; this write has several lines";
            return -EINVAL;
        }
        if (ch < 0x20 || ch == 0x7f) {
            *why = "the value holds a control character";
            return -EINVAL;
        }
    }
    if (buf[0] == ' ' || buf[0] == '\t' || buf[len - 1] == ' ' || buf[len - 1] == '\t') {
        *why = "the value starts or ends with a blank";
        return -EINVAL;
    }
    if ((v = malloc(len + 1)) == NULL)
        return -ENOMEM;
    memcpy(v, buf, len);
    v[len] = '\0';
    *out = v;
    return 0;
}

char *fs_msg_value(const char *node, const char *what, const char *old, const char *new_value)
{
    char *m = NULL;

    if (asprintf(&m, "%s: %s %s -> %s", node, what, old != NULL ? old : "(none)",
                 new_value != NULL ? new_value : "(none)") < 0)
        return NULL;
    return m;
}

char *fs_msg_replace(const char *path, size_t old_n, size_t new_n, const char *unit)
{
    char *m = NULL;

    if (asprintf(&m, "%s: replaced (%zu -> %zu %s)", path, old_n, new_n, unit) < 0)
        return NULL;
    return m;
}

void fs_time_format(char *buf, size_t size, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fs_text_free(struct fs_text *t)
{
    if (t->refs == NULL || __atomic_sub_fetch(t->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(t->data);
        free(t->refs);
    }
    *t = (struct fs_text){0};
}

void fs_text_shareable(struct fs_text *t)
{
    if (t->data != NULL && t->refs == NULL && (t->refs = malloc(sizeof(*t->refs))) != NULL)
        *t->refs = 1;
}

int fs_text_share(struct fs_text *dst, const struct fs_text *src)
{
    if (src->refs == NULL) {
        *dst = (struct fs_text){0};
        return src->data != NULL ? fs_text_set(dst, src->data, src->len) : 0;
    }
    __atomic_add_fetch(src->refs, 1, __ATOMIC_RELAXED);
    *dst = *src;
    return 0;
}

int fs_text_set(struct fs_text *t, const char *data, size_t len)
{
    char *d = malloc(len + 1);

    if (d == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(d, data, len);
    d[len] = '\0';
    fs_text_free(t);
    t->data = d;
    t->len = len;
    return 0;
}

int fs_text_same(const struct fs_text *a, const struct fs_text *b)
{
    if ((a->data == NULL) != (b->data == NULL))
        return 0;
    return a->data == b->data || (a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

int fs_snap_file_same(const struct fs_snap *a, const struct fs_snap *b, int f)
{
    if (b->base != 0 && b->base == a->serial)
        return (b->same >> f) & 1;
    if (a->base != 0 && a->base == b->serial)
        return (a->same >> f) & 1;
    return fs_text_same(&a->file[f], &b->file[f]);
}

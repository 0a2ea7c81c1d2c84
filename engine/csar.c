/* csar.c — a CSAR archive (libzip) checked entry by entry and read into memory, never to disk. */
#include "csar.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <yaml.h>
#include <zip.h>

#include "topology.h"

#define CSAR_META_MAX (64u << 10)
#define CSAR_NAME_MAX 1024

struct csar_entry {
    const char *name; /* libzip's, valid while the archive is open */
    zip_uint64_t index;
    zip_uint64_t size;
    int dir;
};

struct engine_csar {
    zip_t *z;
    int dirfd; /* a template's directory (engine_csar_open_dir()), else -1 */
    char *name;
    char *entry; /* the entry definitions */
    int meta;
    struct csar_entry *v; /* sorted by name */
    size_t n;
    size_t budget; /* bytes reads may still take */
};

/* Why NAME may not be an entry's name, or NULL. A directory's name ends in one '/'. */
static const char *csar_name_why(const char *name)
{
    size_t len = strlen(name);

    if (len == 0)
        return "an empty name";
    if (len > CSAR_NAME_MAX)
        return "a name longer than 1024 bytes";
    if (name[0] == '/' || (len > 1 && name[1] == ':'))
        return "an absolute path";
    for (const char *p = name; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "a control character in its name";
        else if (*p == '\\')
            return "a backslash in its name (zip names use '/')";
    for (const char *p = name; *p != '\0';) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0)
            return "an empty part ('//') in its name";
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return "a '.' or '..' part in its name";
        if (e == NULL || e[1] == '\0')
            break;
        p = e + 1;
    }
    return NULL;
}

/* Compares two names as directories and files alike ("a/" and "a" are one name). */
static int csar_name_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    la -= la > 0 && a[la - 1] == '/';
    lb -= lb > 0 && b[lb - 1] == '/';
    int r = memcmp(a, b, la < lb ? la : lb);
    return r != 0 ? r : (la > lb) - (la < lb);
}

static int csar_entry_cmp(const void *x, const void *y)
{
    return csar_name_cmp(((const struct csar_entry *)x)->name,
                         ((const struct csar_entry *)y)->name);
}

static const struct csar_entry *csar_find(const struct engine_csar *c, const char *name)
{
    struct csar_entry key = {.name = name};
    return c->n == 0 ? NULL : bsearch(&key, c->v, c->n, sizeof(key), csar_entry_cmp);
}

/* Whether C's files are named without a directory (a template in the current one). */
static int csar_bare(const struct engine_csar *c)
{
    return c->dirfd >= 0 && strcmp(c->name, ".") == 0;
}

static int csar_err(struct engine_csar *c, const char *entry, struct engine_diag *d,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int csar_err(struct engine_csar *c, const char *entry, struct engine_diag *d,
                    const char *fmt, ...)
{
    char file[CSAR_NAME_MAX + 4096];
    va_list ap;

    if (entry != NULL)
        snprintf(file, sizeof(file), "%s%s%s", csar_bare(c) ? "" : c->name, csar_bare(c) ? "" : "/",
                 entry);
    va_start(ap, fmt);
    engine_diag_vadd(d, entry != NULL ? file : c->name, 0, 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* One entry checked: its name, its kind, its encryption; its size added to *TOTAL. */
static int csar_entry_check(struct engine_csar *c, zip_uint64_t i, zip_uint64_t *total,
                            struct engine_diag *d)
{
    struct csar_entry *e = &c->v[c->n];
    zip_stat_t st;
    zip_uint8_t os;
    zip_uint32_t attr;
    const char *why;

    zip_stat_init(&st);
    if (zip_stat_index(c->z, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
        !(st.valid & ZIP_STAT_SIZE))
        return csar_err(c, NULL, d, "entry %llu: %s", (unsigned long long)i, zip_strerror(c->z));
    if ((why = csar_name_why(st.name)) != NULL)
        return csar_err(c, NULL, d, "entry '%.200s': %s; expected a path inside the archive",
                        st.name, why);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return csar_err(c, st.name, d, "an encrypted entry; expected a plain file");
    if (zip_file_get_external_attributes(c->z, i, 0, &os, &attr) == 0 && os == ZIP_OPSYS_UNIX) {
        mode_t mode = (mode_t)(attr >> 16);
        if (S_ISLNK(mode))
            return csar_err(c, st.name, d, "a symbolic link; expected a file or a directory");
        if ((mode & S_IFMT) != 0 && !S_ISREG(mode) && !S_ISDIR(mode)) /* no type: a file */
            return csar_err(c, st.name, d, "a special file; expected a file or a directory");
    }
    if (st.size > ENGINE_CSAR_TOTAL_MAX || (*total += st.size) > ENGINE_CSAR_TOTAL_MAX)
        return csar_err(c, NULL, d,
                        "its entries unpack to more than %llu MiB (at '%.200s'); expected a "
                        "smaller archive",
                        ENGINE_CSAR_TOTAL_MAX >> 20, st.name);
    e->name = st.name;
    e->index = i;
    e->size = st.size;
    e->dir = st.name[strlen(st.name) - 1] == '/';
    if (e->dir && st.size != 0)
        return csar_err(c, st.name, d, "a directory with contents; expected an empty entry");
    c->n++;
    return 0;
}

static int csar_entries(struct engine_csar *c, struct engine_diag *d)
{
    zip_int64_t n = zip_get_num_entries(c->z, 0);
    zip_uint64_t total = 0;
    int bad = 0;

    if (n < 0 || n > ENGINE_CSAR_ENTRIES_MAX)
        return csar_err(c, NULL, d, "%lld entries; expected at most %d", (long long)n,
                        ENGINE_CSAR_ENTRIES_MAX);
    if (n > 0 && (c->v = calloc((size_t)n, sizeof(*c->v))) == NULL)
        return -ENOMEM;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++)
        if (csar_entry_check(c, i, &total, d) < 0) {
            bad = -EINVAL;
            if (total > ENGINE_CSAR_TOTAL_MAX)
                return bad;
        }
    if (bad < 0 || c->n == 0)
        return bad;
    qsort(c->v, c->n, sizeof(*c->v), csar_entry_cmp);
    for (size_t i = 1; i < c->n; i++)
        if (csar_entry_cmp(&c->v[i - 1], &c->v[i]) == 0)
            bad = csar_err(c, c->v[i].name, d,
                           "this name is in the archive twice; expected each entry once");
    return bad;
}

/* ENTRY of the directory C opened for reading, confined to it: no '..' (engine_csar_resolve()
 * has resolved them) and no symbolic link that leads out (RESOLVE_BENEATH; where the kernel
 * lacks openat2, no symbolic link at all); O_NONBLOCK so that a FIFO does not wait. */
static int csar_dir_open(const struct engine_csar *c, const char *entry)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, c->dirfd, entry, &how, sizeof(how));

    if (fd >= 0 || errno != ENOSYS)
        return fd;
    /* the old way, each part in turn, none a link */
    int at = dup(c->dirfd);
    for (const char *p = entry; at >= 0;) {
        const char *e = strchr(p, '/');
        char part[CSAR_NAME_MAX + 1];
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > CSAR_NAME_MAX) {
            close(at);
            return errno = ENAMETOOLONG, -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        fd = openat(at, part, (int)how.flags | O_NOFOLLOW | (e ? O_DIRECTORY : 0));
        close(at);
        if (e == NULL || fd < 0)
            return fd;
        at = fd;
        p = e + 1;
    }
    return -1;
}

/* Why ENTRY of a template's directory cannot be read, from ERRNO. */
static const char *csar_dir_why(int err)
{
    return err == EXDEV || err == ELOOP
               ? "a symbolic link out of the template's directory; expected a file inside it"
               : strerror(err);
}

int engine_csar_has_file(const struct engine_csar *c, const char *entry)
{
    const struct csar_entry *e = csar_find(c, entry);

    if (c->dirfd >= 0) {
        struct stat st;
        int fd = csar_dir_open(c, entry),
            reg = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        if (fd >= 0)
            close(fd);
        return reg;
    }
    return e != NULL && !e->dir && entry[strlen(entry) - 1] != '/';
}

int engine_csar_read(struct engine_csar *c, const char *entry, char **buf, size_t *len,
                     struct engine_diag *d)
{
    return engine_csar_read_max(c, entry, ENGINE_TOPOLOGY_FILE_MAX, 0, buf, len, d);
}

size_t engine_csar_count(const struct engine_csar *c)
{
    return c->n;
}

const char *engine_csar_file_at(const struct engine_csar *c, size_t i, uint64_t *size)
{
    if (i >= c->n || c->v[i].dir || c->v[i].name[strlen(c->v[i].name) - 1] == '/')
        return NULL;
    *size = c->v[i].size;
    return c->v[i].name;
}

/* engine_csar_read_max() of a template's directory. */
static int csar_dir_read(struct engine_csar *c, const char *entry, size_t max, int unbudgeted,
                         char **buf, size_t *len, struct engine_diag *d)
{
    struct stat st;
    size_t got = 0;
    ssize_t r = 1;
    int fd = csar_dir_open(c, entry);

    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? -ENOENT
                   : csar_err(c, entry, d, "cannot open: %s", csar_dir_why(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return csar_err(c, entry, d, "not a regular file; expected a file");
    }
    if ((uint64_t)st.st_size > max || (!unbudgeted && (uint64_t)st.st_size > c->budget)) {
        close(fd);
        return (uint64_t)st.st_size > max
                   ? csar_err(c, entry, d, "%llu bytes; expected at most %zu",
                              (unsigned long long)st.st_size, max)
                   : csar_err(c, entry, d, "the files read pass %u MiB; expected less",
                              ENGINE_CSAR_READ_MAX >> 20);
    }
    if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return -ENOMEM;
    }
    /* at most the size seen: a file that grows while read is read as it was */
    while (got < (size_t)st.st_size && (r = read(fd, *buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)r;
    close(fd);
    if (r < 0) {
        free(*buf);
        *buf = NULL;
        return csar_err(c, entry, d, "cannot read: %s", strerror(errno));
    }
    if (!unbudgeted)
        c->budget -= got;
    (*buf)[got] = '\0';
    *len = got;
    return 0;
}

int engine_csar_read_max(struct engine_csar *c, const char *entry, size_t max, int unbudgeted,
                         char **buf, size_t *len, struct engine_diag *d)
{
    const struct csar_entry *e = csar_find(c, entry);
    zip_file_t *f;
    zip_int64_t got = 0, r = 0;
    char extra;

    *buf = NULL;
    *len = 0;
    if (c->dirfd >= 0)
        return csar_dir_read(c, entry, max, unbudgeted, buf, len, d);
    if (e == NULL || !engine_csar_has_file(c, entry))
        return -ENOENT;
    if (e->size > max)
        return csar_err(c, entry, d, "%llu bytes; expected at most %zu",
                        (unsigned long long)e->size, max);
    if (!unbudgeted && e->size > c->budget)
        return csar_err(c, entry, d, "the files read from the archive pass %u MiB; expected less",
                        ENGINE_CSAR_READ_MAX >> 20);
    if ((*buf = malloc(e->size + 1)) == NULL)
        return -ENOMEM;
    if ((f = zip_fopen_index(c->z, e->index, 0)) == NULL) {
        free(*buf);
        *buf = NULL;
        return csar_err(c, entry, d, "cannot read: %s", zip_strerror(c->z));
    }
    while ((zip_uint64_t)got < e->size && (r = zip_fread(f, *buf + got, e->size - got)) > 0)
        got += r;
    /* One byte more: the end of the stream, where libzip checks the CRC; an entry longer
     * than it says is refused, not read on. */
    if (r >= 0 && (zip_uint64_t)got == e->size)
        r = zip_fread(f, &extra, 1);
    if (r != 0 || (zip_uint64_t)got != e->size) {
        csar_err(c, entry, d, "damaged entry: %s",
                 r > 0 ? "longer than its declared size" : zip_file_strerror(f));
        zip_fclose(f);
        free(*buf);
        *buf = NULL;
        return -EINVAL;
    }
    zip_fclose(f);
    if (!unbudgeted)
        c->budget -= e->size;
    (*buf)[got] = '\0';
    *len = (size_t)got;
    return 0;
}

/* Entry-Definitions of TOSCA-Metadata/TOSCA.meta (a YAML mapping of "Key: value" lines). */
static int csar_meta(struct engine_csar *c, struct engine_diag *d)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_node_t *root;
    char *buf = NULL;
    const char *entry = NULL;
    size_t len;
    int r;

    if (csar_find(c, ENGINE_CSAR_META)->size > CSAR_META_MAX)
        return csar_err(c, ENGINE_CSAR_META, d, "larger than %u KiB; expected a short file",
                        CSAR_META_MAX >> 10);
    if ((r = engine_csar_read(c, ENGINE_CSAR_META, &buf, &len, d)) < 0)
        return r;
    if (!yaml_parser_initialize(&p)) {
        free(buf);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&p, &doc)) {
        r = csar_err(c, ENGINE_CSAR_META, d, "not YAML (%s at line %zu); expected Key: value lines",
                     p.problem ? p.problem : "a syntax error", p.problem_mark.line + 1);
        goto parser;
    }
    root = yaml_document_get_root_node(&doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        r = csar_err(c, ENGINE_CSAR_META, d, "not a YAML mapping; expected Key: value lines");
        goto document;
    }
    for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top;
         q++) {
        yaml_node_t *k = yaml_document_get_node(&doc, q->key),
                    *v = yaml_document_get_node(&doc, q->value);
        if (k->type == YAML_SCALAR_NODE &&
            strcmp((char *)k->data.scalar.value, "Entry-Definitions") == 0)
            entry = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
    }
    if (entry == NULL)
        r = csar_err(c, ENGINE_CSAR_META, d, "expected the key Entry-Definitions");
    else if (!engine_csar_has_file(c, entry))
        r = csar_err(c, ENGINE_CSAR_META, d,
                     "Entry-Definitions '%.200s': no such file in the archive", entry);
    else
        r = (c->entry = strdup(entry)) ? 0 : -ENOMEM;
document:
    yaml_document_delete(&doc);
parser:
    yaml_parser_delete(&p);
    free(buf);
    return r;
}

/* No TOSCA.meta: the one .yaml or .yml file at the top. */
static int csar_root_yaml(struct engine_csar *c, struct engine_diag *d)
{
    const char *found = NULL;
    size_t n = 0;

    for (size_t i = 0; i < c->n; i++) {
        const char *s = c->v[i].name, *dot = strrchr(s, '.');
        if (strchr(s, '/') == NULL && dot != NULL &&
            (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0)) {
            found = s;
            n++;
        }
    }
    if (n != 1)
        return csar_err(c, NULL, d,
                        "no %s and %zu YAML files at the top; expected the one or the other "
                        "(one service template at the top)",
                        ENGINE_CSAR_META, n);
    return (c->entry = strdup(found)) ? 0 : -ENOMEM;
}

static int csar_open(struct engine_csar **out, zip_source_t *src, const char *path,
                     const char *name, struct engine_diag *d)
{
    struct engine_csar *c = calloc(1, sizeof(*c));
    zip_error_t ze;
    int r, code = 0;

    *out = NULL;
    zip_error_init(&ze);
    if (c == NULL || (c->name = strdup(name)) == NULL) {
        free(c);
        zip_source_free(src);
        return -ENOMEM;
    }
    c->dirfd = -1;
    c->budget = ENGINE_CSAR_READ_MAX;
    if (src != NULL)
        c->z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    else if ((c->z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code)) == NULL)
        zip_error_init_with_code(&ze, code);
    if (c->z == NULL) {
        zip_source_free(src);
        if (zip_error_code_zip(&ze) == ZIP_ER_EXISTS)
            r = csar_err(c, NULL, d, "a name is in the archive twice; expected each entry once");
        else
            r = csar_err(c, NULL, d, "not a readable zip archive (%s); expected a CSAR",
                         zip_error_strerror(&ze));
        goto fail;
    }
    if ((r = csar_entries(c, d)) < 0)
        goto fail;
    c->meta = csar_find(c, ENGINE_CSAR_META) != NULL;
    if ((r = c->meta ? csar_meta(c, d) : csar_root_yaml(c, d)) < 0)
        goto fail;
    zip_error_fini(&ze);
    *out = c;
    return 0;
fail:
    zip_error_fini(&ze);
    engine_csar_free(c);
    return r;
}

int engine_csar_open(struct engine_csar **out, const char *path, struct engine_diag *d)
{
    struct engine_diag local;
    struct stat st;
    int r;

    *out = NULL;
    if (d == NULL) {
        engine_diag_init(&local);
        r = engine_csar_open(out, path, &local);
        engine_diag_free(&local);
        return r;
    }
    /* stat does not open: a FIFO is refused before anyone waits on it */
    if (stat(path, &st) != 0)
        return engine_diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return engine_diag_add(d, path, 0, 0, "not a regular file; expected a CSAR archive");
    return csar_open(out, NULL, path, path, d);
}

int engine_csar_open_buffer(struct engine_csar **out, const void *buf, size_t len, const char *name,
                            struct engine_diag *d)
{
    struct engine_diag local;
    zip_error_t ze;
    zip_source_t *src;
    int r;

    *out = NULL;
    if (d == NULL) {
        engine_diag_init(&local);
        r = engine_csar_open_buffer(out, buf, len, name, &local);
        engine_diag_free(&local);
        return r;
    }
    zip_error_init(&ze);
    src = zip_source_buffer_create(len ? buf : "", len, 0, &ze);
    zip_error_fini(&ze);
    if (src == NULL)
        return -ENOMEM;
    return csar_open(out, src, NULL, name, d);
}

int engine_csar_open_dir(struct engine_csar **out, const char *path, struct engine_diag *d)
{
    const char *slash;
    struct engine_csar *c;
    struct stat st;
    char real[PATH_MAX];

    *out = NULL;
    /* a template that is a symbolic link: its directory is where the link leads */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, real) != NULL)
        path = real;
    slash = strrchr(path, '/');
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return -ENOMEM;
    c->dirfd = -1;
    c->budget = ENGINE_CSAR_READ_MAX;
    c->name =
        slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    c->entry = strdup(slash ? slash + 1 : path);
    if (c->name == NULL || c->entry == NULL) {
        engine_csar_free(c);
        return -ENOMEM;
    }
    if ((c->dirfd = open(c->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int r = engine_diag_add(d, path, 0, 0, "cannot open its directory: %s", strerror(errno));
        engine_csar_free(c);
        return r;
    }
    if (c->entry[0] == '\0' || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        int r = engine_diag_add(d, path, 0, 0, "not a regular file; expected a service template");
        engine_csar_free(c);
        return r;
    }
    *out = c;
    return 0;
}

int engine_csar_is_dir(const struct engine_csar *c)
{
    return c->dirfd >= 0;
}

char *engine_csar_path(const struct engine_csar *c, const char *entry)
{
    char *s;

    if (csar_bare(c))
        return strdup(entry);
    return asprintf(&s, "%s/%s", c->name, entry) < 0 ? NULL : s;
}

void engine_csar_free(struct engine_csar *c)
{
    if (c == NULL)
        return;
    if (c->z != NULL)
        zip_discard(c->z);
    if (c->dirfd >= 0)
        close(c->dirfd);
    free(c->v);
    free(c->entry);
    free(c->name);
    free(c);
}

const char *engine_csar_name(const struct engine_csar *c)
{
    return c->name;
}

const char *engine_csar_entry(const struct engine_csar *c)
{
    return c->entry;
}

int engine_csar_has_meta(const struct engine_csar *c)
{
    return c->meta;
}

int engine_csar_resolve(const char *dir, const char *rel, char **out, const char **why)
{
    size_t cap = strlen(dir) + strlen(rel) + 2, len = 0;
    char *s = malloc(cap);

    *out = NULL;
    if (s == NULL)
        return -ENOMEM;
    if (rel[0] == '/') {
        free(s);
        *why = "an absolute path; expected a path relative to the importing file";
        return -EINVAL;
    }
    /* Parts of DIR then of REL, each '.' dropped and each '..' taking back the last part. */
    for (int pass = 0; pass < 2; pass++) {
        for (const char *p = pass == 0 ? dir : rel; *p != '\0';) {
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n == 2 && p[0] == '.' && p[1] == '.') {
                if (len == 0) {
                    free(s);
                    *why = "it leaves the archive; expected a file inside it";
                    return -EINVAL;
                }
                while (len > 0 && s[len - 1] != '/')
                    len--;
                len -= len > 0;
            } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                if (len > 0)
                    s[len++] = '/';
                memcpy(s + len, p, n);
                len += n;
            }
            p += n + (e != NULL);
        }
    }
    s[len] = '\0';
    *out = s;
    return 0;
}

int engine_csar_is_zip(const void *buf, size_t len)
{
    /* a local file header, or the end of the central directory of an empty archive */
    return len >= 4 && (memcmp(buf, "PK\3\4", 4) == 0 || memcmp(buf, "PK\5\6", 4) == 0);
}

int engine_csar_is_archive(const char *path)
{
    size_t n = strlen(path);
    unsigned char head[4];
    FILE *f;
    struct stat st;
    int zip = 0;

    if ((n > 5 && strcasecmp(path + n - 5, ".csar") == 0) ||
        (n > 4 && strcasecmp(path + n - 4, ".zip") == 0))
        return 1;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (f = fopen(path, "rb")) == NULL)
        return 0;
    zip = fread(head, 1, sizeof(head), f) == sizeof(head) && engine_csar_is_zip(head, 4);
    fclose(f);
    return zip;
}

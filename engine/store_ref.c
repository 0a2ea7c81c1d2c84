/* store_ref.c — beside main: each host's deployment records on its own ref, a repository opened
 * to be read only (a server's bare repository, from a hook), and a commit's tree checked entry
 * by entry without reading its files. */
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int engine_store_host_check(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > ENGINE_STORE_SEGMENT_MAX || name[0] == '.' || name[0] == '-' ||
        strstr(name, "..") != NULL || (n >= 5 && strcmp(name + n - 5, ".lock") == 0))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return -EINVAL;
    }
    return 0;
}

int engine_store_deployed_ref(char out[ENGINE_STORE_REF_MAX], const char *host)
{
    if (engine_store_host_check(host) < 0)
        return -EINVAL;
    snprintf(out, ENGINE_STORE_REF_MAX, "%s%s", ENGINE_STORE_DEPLOYED_PREFIX, host);
    return 0;
}

int engine_store_open_repo(struct engine_store **out, const char *dir, struct engine_diag *diag)
{
    struct engine_store *s = NULL;
    const char *name = dir != NULL ? dir : getenv("GIT_DIR");
    char *abs = NULL;
    int error;

    *out = NULL;
    if (name == NULL || name[0] == '\0')
        return store_err(diag, NULL, -EINVAL, "open: no repository given (nor GIT_DIR)");
    /* Messages name the repository by its absolute path: a hook's GIT_DIR is often ".". */
    abs = realpath(name, NULL);
    error = store_new(&s, abs != NULL ? abs : name, diag);
    free(abs);
    if (error < 0)
        return error;
    s->read_only = 1;
    /* From git's environment (GIT_DIR, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES):
     * in a pre-receive hook the pushed objects are still in quarantine, found only so. */
    error = dir == NULL
                ? git_repository_open_ext(&s->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)
                : git_repository_open_ext(&s->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
    if (error < 0) {
        error = store_git_err(diag, name, error, "open: no git repository there");
        goto cleanup;
    }
    /* main may not exist yet (a new bare repository): the head is then no commit. */
    error = git_reference_name_to_id(&s->head, s->repo, ENGINE_STORE_BRANCH);
    if (error == GIT_ENOTFOUND)
        error = 0;
    else if (error < 0)
        error = store_git_err(diag, name, error, "open: reading main");
    if (error == 0) {
        *out = s;
        s = NULL;
    }

cleanup:
    engine_store_free(s);
    return error;
}

const char *engine_store_git_dir(const struct engine_store *s)
{
    return git_repository_path(s->repo);
}

int engine_store_ref_id(const struct engine_store *s, const char *refname, char out_id[41],
                        struct engine_diag *diag)
{
    git_oid id;
    int error;

    out_id[0] = '\0';
    store_lock(s);
    error = git_reference_name_to_id(&id, s->repo, refname);
    store_unlock(s);
    if (error == GIT_ENOTFOUND || error == GIT_EINVALIDSPEC)
        return -ENOENT;
    if (error < 0)
        return store_git_err(diag, s->dir, error, "ref");
    git_oid_tostr(out_id, 41, &id);
    return 0;
}

int engine_store_refs(const struct engine_store *s, const char *prefix,
                      int (*cb)(const char *refname, const char *id, void *arg), void *arg,
                      struct engine_diag *diag)
{
    git_strarray names = {0};
    int error;

    store_lock(s);
    /* Names first, then the callback without the iterator: it may read the store. */
    if ((error = git_reference_list(&names, s->repo)) < 0)
        error = store_git_err(diag, s->dir, error, "refs");
    store_unlock(s);
    for (size_t i = 0; error == 0 && i < names.count; i++) {
        char id[41];
        if (strncmp(names.strings[i], prefix, strlen(prefix)) != 0)
            continue;
        if (engine_store_ref_id(s, names.strings[i], id, NULL) < 0)
            continue; /* a symbolic ref or one gone meanwhile */
        error = cb(names.strings[i], id, arg);
    }
    git_strarray_dispose(&names);
    return error;
}

int engine_store_commit_ref(struct engine_store *s, const char *refname, const char *path,
                            const char *data, size_t len, const struct engine_store_author *author,
                            const char *message, char out_id[41], struct engine_diag *diag)
{
    const struct engine_store_file f = {path, data, len};
    return engine_store_commit_ref_files(s, refname, &f, 1, author, message, out_id, diag);
}

#define STORE_REF_FILES_MAX 8

int engine_store_commit_ref_files(struct engine_store *s, const char *refname,
                                  const struct engine_store_file *files, size_t n,
                                  const struct engine_store_author *author, const char *message,
                                  char out_id[41], struct engine_diag *diag)
{
    git_treebuilder *tb = NULL;
    git_tree_update upd[STORE_REF_FILES_MAX];
    git_signature *sig = NULL;
    git_commit *parent = NULL;
    git_tree *empty = NULL, *tree = NULL;
    git_oid pid, eid, tid, id;
    char *msg = NULL;
    int error, have_parent;

    out_id[0] = '\0';
    if (s->read_only)
        return store_err(diag, s->dir, -EINVAL, "record: the store is open read-only");
    if (strncmp(refname, "refs/", 5) != 0 || strcmp(refname, ENGINE_STORE_BRANCH) == 0 ||
        !git_reference_is_valid_name(refname))
        return store_err(diag, s->dir, -EINVAL, "record: %s is no ref for records", refname);
    if (n == 0 || n > STORE_REF_FILES_MAX)
        return store_err(diag, s->dir, -EINVAL, "record: %zu files", n);
    for (size_t i = 0; i < n; i++)
        if ((error = store_path_check_in(s->dir, files[i].path, diag)) < 0)
            return error;
    if ((error = store_author_check(s->dir, author, message, diag)) < 0)
        return error;
    if ((msg = store_message(message)) == NULL)
        return store_err(diag, s->dir, -ENOMEM, "record: out of memory");
    store_lock(s);
    error = git_reference_name_to_id(&pid, s->repo, refname);
    have_parent = error == 0;
    if (error < 0 && error != GIT_ENOTFOUND) {
        error = store_git_err(diag, s->dir, error, "record");
        goto cleanup;
    }
    /* The record's tree holds its files alone, whatever main holds. */
    error = 0;
    for (size_t i = 0; error == 0 && i < n; i++) {
        upd[i] = (git_tree_update){
            .action = GIT_TREE_UPDATE_UPSERT, .filemode = GIT_FILEMODE_BLOB, .path = files[i].path};
        error = git_blob_create_from_buffer(&upd[i].id, s->repo, files[i].data, files[i].len);
    }
    if (error < 0 || (error = git_treebuilder_new(&tb, s->repo, NULL)) < 0 ||
        (error = git_treebuilder_write(&eid, tb)) < 0 ||
        (error = git_tree_lookup(&empty, s->repo, &eid)) < 0 ||
        (error = git_tree_create_updated(&tid, s->repo, empty, n, upd)) < 0 ||
        (error = git_tree_lookup(&tree, s->repo, &tid)) < 0 ||
        (have_parent && (error = git_commit_lookup(&parent, s->repo, &pid)) < 0) ||
        (error = git_signature_now(&sig, author->name, author->email)) < 0) {
        error = store_git_err(diag, s->dir, error, "record");
        goto cleanup;
    }
    if ((error = store_commit_make_on(&id, s, refname, sig, msg, tree, parent, "record", diag)) < 0)
        goto cleanup;
    git_oid_tostr(out_id, 41, &id);

cleanup:
    store_unlock(s);
    git_signature_free(sig);
    git_commit_free(parent);
    git_tree_free(tree);
    git_tree_free(empty);
    git_treebuilder_free(tb);
    free(msg);
    return error;
}

int engine_store_descends(const struct engine_store *s, const char *tip, const char *id,
                          struct engine_diag *diag)
{
    git_oid t, o;
    int r;

    if (git_oid_fromstr(&t, tip) < 0 || git_oid_fromstr(&o, id) < 0)
        return store_err(diag, s->dir, -EINVAL, "history: not a commit id");
    if (git_oid_equal(&t, &o))
        return 1;
    store_lock(s);
    if ((r = git_graph_descendant_of(s->repo, &t, &o)) < 0)
        r = git_error_last() != NULL && git_error_last()->klass == GIT_ERROR_ODB
                ? 0 /* an unknown commit is in no history */
                : store_git_err(diag, s->dir, r, "history");
    store_unlock(s);
    return r;
}

/* ---- a commit's tree, entry by entry ---- */

struct tree_walk {
    const struct engine_store *s;
    const struct engine_store_tree_limits *lim;
    int (*cb)(const char *path, size_t size, void *arg);
    void *arg;
    size_t entries;
    struct engine_diag *diag;
};

/* The size of object ID and its type, from its header (the object is not read). */
static int tree_header(const struct tree_walk *w, const git_oid *id, size_t *size,
                       git_object_t *type)
{
    git_odb *odb = NULL;
    int error;

    if ((error = git_repository_odb(&odb, w->s->repo)) == 0)
        error = git_odb_read_header(size, type, odb, id);
    git_odb_free(odb);
    return error;
}

static int tree_walk_one(struct tree_walk *w, const git_oid *id, char *path, size_t plen,
                         size_t depth)
{
    git_tree *tree = NULL;
    git_object_t type;
    size_t size;
    int error;

    if (depth > w->lim->depth)
        return store_err(w->diag, path[0] ? path : "(root)", -EINVAL,
                         "directories nested deeper than %zu", w->lim->depth);
    if ((error = tree_header(w, id, &size, &type)) < 0)
        return store_git_err(w->diag, w->s->dir, error, "tree");
    if (size > w->lim->tree_bytes)
        return store_err(w->diag, path[0] ? path : "(root)", -EFBIG,
                         "a directory of %zu bytes of entries (at most %zu)", size,
                         w->lim->tree_bytes);
    if ((error = git_tree_lookup(&tree, w->s->repo, id)) < 0)
        return store_git_err(w->diag, w->s->dir, error, "tree");
    for (size_t i = 0; error == 0 && i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        const char *name = git_tree_entry_name(e);
        git_filemode_t mode = git_tree_entry_filemode(e);
        size_t n = strlen(name);

        if (++w->entries > w->lim->entries) {
            error = store_err(w->diag, path[0] ? path : "(root)", -EFBIG,
                              "more than %zu entries in the tree", w->lim->entries);
            break;
        }
        if (plen + 1 + n >= ENGINE_STORE_PATH_MAX) {
            error = store_err(w->diag, path, -EINVAL, "a path longer than %d bytes",
                              ENGINE_STORE_PATH_MAX);
            break;
        }
        snprintf(path + plen, ENGINE_STORE_PATH_MAX + 1 - plen, "%s%s", plen ? "/" : "", name);
        if (engine_store_path_check(path, NULL) < 0)
            error = store_err(w->diag, path, -EINVAL, "not a path a store may hold");
        else if (mode == GIT_FILEMODE_TREE)
            error = tree_walk_one(w, git_tree_entry_id(e), path, strlen(path), depth + 1);
        else if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
            error = store_err(w->diag, path, -EINVAL, "%s, not a regular file",
                              mode == GIT_FILEMODE_LINK     ? "a symbolic link"
                              : mode == GIT_FILEMODE_COMMIT ? "a submodule (gitlink)"
                                                            : "an unknown kind of entry");
        else if ((error = tree_header(w, git_tree_entry_id(e), &size, &type)) < 0)
            error = store_git_err(w->diag, w->s->dir, error, "tree");
        else if (size > w->lim->blob_bytes)
            error = store_err(w->diag, path, -EFBIG, "%zu bytes (at most %zu)", size,
                              w->lim->blob_bytes);
        else if (w->cb != NULL)
            error = w->cb(path, size, w->arg);
        path[plen] = '\0';
    }
    git_tree_free(tree);
    return error;
}

int engine_store_tree_check(const struct engine_store *s, const char *commit,
                            const struct engine_store_tree_limits *lim,
                            int (*cb)(const char *path, size_t size, void *arg), void *arg,
                            struct engine_diag *diag)
{
    struct tree_walk w = {.s = s, .lim = lim, .cb = cb, .arg = arg, .diag = diag};
    char path[ENGINE_STORE_PATH_MAX + 1] = "";
    git_commit *c = NULL;
    git_oid id;
    int error;

    if (git_oid_fromstr(&id, commit) < 0)
        return store_err(diag, s->dir, -EINVAL, "tree: %s is not a commit id", commit);
    store_lock(s);
    if ((error = git_commit_lookup(&c, s->repo, &id)) < 0)
        error = store_git_err(diag, s->dir, error, "tree");
    else
        error = tree_walk_one(&w, git_commit_tree_id(c), path, 0, 0);
    git_commit_free(c);
    store_unlock(s);
    return error;
}

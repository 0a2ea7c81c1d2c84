/* store_memo.c — the states a level write made lately, remembered: a commit that changes one
 * file to bytes it held in one of the last STORE_MEMO_N commits of the store, on the same base
 * tree (a level set back, a node's level going back and forth), takes that commit's blob and
 * tree ids instead of hashing the bytes again (SHA-1 with collision detection), rebuilding the
 * trees and touching the stored objects' times (libgit2's freshening of a loose object it
 * finds stored).
 *
 * Those objects exist because main holds them: they belong to commits of the store that are
 * main's ancestors. So the memory holds only while every move of main since was the store's
 * own commit: it names the head it is valid for, each commit moves that along, and any other
 * change of the store's head (a refresh after an outside commit or reset, a move to a remote's
 * commit, opening the store) leaves the memory behind, unused and then dropped, since an
 * outside move can make those objects unreachable and `git prune` can then remove them. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

static void store_memo_entry_free(struct store_memo *m)
{
    free(m->path);
    free(m->data);
    memset(m, 0, sizeof(*m));
}

void store_memo_drop(struct engine_store *s)
{
    for (size_t i = 0; i < STORE_MEMO_N; i++)
        store_memo_entry_free(&s->memo[i]);
    s->memo_valid = 0;
}

/* The one change C can be looked up or remembered: a file written with its bytes (not a
 * removal, not taken from the work tree) of at most STORE_MEMO_MAX bytes. */
static int store_memo_fits(const struct engine_store_change *c, size_t n)
{
    return n == 1 && !c->remove && !c->from_worktree && c->len <= STORE_MEMO_MAX;
}

int store_memo_find(const struct engine_store *s, const git_oid *base,
                    const struct engine_store_change *c, size_t n, git_tree_update *upd,
                    git_oid *tree)
{
    if (!s->memo_valid || !git_oid_equal(&s->memo_head, &s->head) || !store_memo_fits(c, n))
        return 0;
    for (size_t i = 0; i < STORE_MEMO_N; i++) {
        const struct store_memo *m = &s->memo[i];
        if (m->path == NULL || m->len != c->len || !git_oid_equal(&m->base, base) ||
            strcmp(m->path, c->path) != 0 || (c->len > 0 && memcmp(m->data, c->data, c->len) != 0))
            continue;
        memset(upd, 0, sizeof(*upd));
        upd->path = c->path;
        upd->action = GIT_TREE_UPDATE_UPSERT;
        upd->filemode = GIT_FILEMODE_BLOB;
        git_oid_cpy(&upd->id, &m->blob);
        git_oid_cpy(tree, &m->tree);
        return 1;
    }
    return 0;
}

int store_memo_head_tree(const struct engine_store *s, const git_oid *head, git_oid *tree)
{
    if (!s->memo_valid || !git_oid_equal(&s->memo_head, head))
        return 0;
    git_oid_cpy(tree, &s->memo_head_tree);
    return 1;
}

void store_memo_moved(struct engine_store *s, const git_oid *from, const git_oid *to,
                      const git_oid *base, const struct engine_store_change *c, size_t n,
                      const git_tree_update *upd, const git_oid *tree)
{
    struct store_memo *m;

    /* Main moved other than by the store's commits since the memory was made: dropped. */
    if (s->memo_valid && !git_oid_equal(&s->memo_head, from))
        store_memo_drop(s);
    s->memo_valid = 1;
    git_oid_cpy(&s->memo_head, to);
    git_oid_cpy(&s->memo_head_tree, tree);
    if (!store_memo_fits(c, n))
        return;
    for (size_t i = 0; i < STORE_MEMO_N; i++)
        if (s->memo[i].path != NULL && git_oid_equal(&s->memo[i].base, base) &&
            git_oid_equal(&s->memo[i].tree, tree))
            return; /* remembered already */
    m = &s->memo[s->memo_next];
    s->memo_next = (s->memo_next + 1) % STORE_MEMO_N;
    store_memo_entry_free(m);
    if ((m->path = strdup(c->path)) == NULL ||
        (m->data = malloc(c->len > 0 ? c->len : 1)) == NULL) {
        store_memo_entry_free(m);
        return;
    }
    memcpy(m->data, c->data, c->len);
    m->len = c->len;
    git_oid_cpy(&m->base, base);
    git_oid_cpy(&m->blob, &upd->id);
    git_oid_cpy(&m->tree, tree);
}

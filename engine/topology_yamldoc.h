/* topology_yamldoc.h — YAML documents built and written back with libyaml's document API and
 * emitter (topology_yamldoc.c; topo_yaml_line() in topology_inputs.c): what a store's one-file
 * topology, its inputs.yaml and D_TOSCA's carried lines are made with. Private to the engine's
 * topology and archive files. Allocation failure: -ENOMEM, or 0 where a node id is returned. */
#ifndef UNISEC_ENGINE_TOPOLOGY_YAMLDOC_H
#define UNISEC_ENGINE_TOPOLOGY_YAMLDOC_H

#include <stddef.h>
#include <yaml.h>

/* Parses BUF[0..LEN) into DOC (the caller deletes it): 0, -EINVAL (not YAML), -ENOMEM. */
int topo_yaml_load(yaml_document_t *doc, const char *buf, size_t len);

/* A copy of SRC's node N in DST: its id, or 0 when memory runs out, N nests deeper than
 * TOPO_DEPTH_MAX, or the copy would pass *BUDGET nodes (counted down: aliases are copied
 * out, so a few nodes may stand for many). */
int topo_yaml_copy(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n, int depth,
                   size_t *budget);

/* What a copy puts in DST in place of SRC's node N: the id of a node it added, or 0 to copy
 * N as it is. */
typedef int (*topo_yaml_subst_fn)(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n,
                                  void *arg);

/* topo_yaml_copy() asking SUBST (with ARG) first for every node. */
int topo_yaml_copy_with(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n, int depth,
                        size_t *budget, topo_yaml_subst_fn subst, void *arg);

/* The value of KEY in mapping MAP of DOC (and its id in *ID, if not NULL), or NULL. */
yaml_node_t *topo_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key, int *id);

/* Whether the root mapping of the document BUF[0..LEN) has KEY with a value that TEST (given
 * ARG) accepts: TEST's answer (0 or 1); 0 when there is no such key or BUF is not YAML (the load
 * says what is wrong); -ENOMEM. A look at a template before it is loaded. */
int topo_yaml_peek(const char *buf, size_t len, const char *key,
                   int (*test)(const yaml_node_t *v, const void *arg), const void *arg);

/* Removes KEY from mapping MAP. */
void topo_yaml_unset(yaml_document_t *doc, yaml_node_t *map, const char *key);

/* Writes DOC as YAML text into a new buffer (*OUT, caller frees; *LEN bytes) and deletes DOC
 * (whatever the outcome). 0 or -ENOMEM. */
int topo_yaml_emit(yaml_document_t *doc, char **out, size_t *len);
/* The same with lines broken past WIDTH columns (-1: never); topo_yaml_emit()'s is 100. */
int topo_yaml_emit_width(yaml_document_t *doc, char **out, size_t *len, int width);

/* SRC's node V as one line of YAML and a newline, as `--input NAME=VALUE` takes a value:
 * collections in flow style, a scalar with a line break double-quoted (topology_inputs.c).
 * *OUT (caller frees, *LEN bytes). 0, -E2BIG (aliases copied out make it more than 100000
 * nodes), -ENOMEM. */
int topo_yaml_line(yaml_document_t *src, yaml_node_t *v, char **out, size_t *len);
/* The same with SUBST (may be NULL) asked first for every node (topo_yaml_copy_with()). */
int topo_yaml_line_with(yaml_document_t *src, yaml_node_t *v, topo_yaml_subst_fn subst, void *arg,
                        char **out, size_t *len);

#endif

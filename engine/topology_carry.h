/* topology_carry.h — what D_TOSCA carries of the topology as written (topology_carry.c),
 * recorded by the reader into the model's carry fields (topology_int.h: enum topo_carry_part,
 * enum topo_carry_tt). Each function returns 0 or -ENOMEM (ld->oom set). */
#ifndef UNISEC_ENGINE_TOPOLOGY_CARRY_H
#define UNISEC_ENGINE_TOPOLOGY_CARRY_H

#include "topology_int.h"

/* Refuses (0) or keeps entry KEY (its value V) of part PART. */
typedef int (*topo_carry_keep_fn)(struct topo_ld *ld, void *arg, int part, const char *key,
                                  yaml_node_t *v);

/* Mapping V as lines into OUT[0] (its keys except those of SPLIT and SKIP, NULL-terminated
 * lists that may be NULL) and OUT[1 + i] (the entries of key SPLIT[i]); KEEP (may be NULL)
 * refuses entries. Each OUT is NULL when empty. 0 or -ENOMEM (ld->oom set). */
int topo_carry_split(struct topo_ld *ld, yaml_node_t *v, const char *const *split,
                     const char *const *skip, topo_carry_keep_fn keep, void *arg, char **out);
/* Type D's definition V (a type of the topology). */
int topo_tdef_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_tdef *d);
/* Node N's template V: everything but its type, and of its properties those unisec does not
 * write itself (its own that hold a value not set by a function; multi_level_security maps). */
int topo_node_carry(struct topo_ld *ld, struct topo_node *n, yaml_node_t *v);
/* The topology template TT's description, relationship templates, policies, outputs,
 * substitution mapping and workflows (its groups are the model's, each with its own carry). */
int topo_template_carry(struct topo_ld *ld, yaml_node_t *tt);
/* The metadata and repositories of the topology's file ROOT (not of its imports). */
int topo_top_carry(struct topo_ld *ld, yaml_node_t *root);
/* Group G's keys in V other than those of the model (type, description, members). */
int topo_group_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_group *g);
/* Input IN's definition V. */
int topo_input_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_input *in);

#endif

/*
 * fs_inputs.h — one input of the topology template as a file: inputs/NAME (fs_inputs.c;
 * fs/MOUNT.md). inputs.yaml stays the stored form: a read of inputs/NAME shows its value
 * there (or the input's default), a write sets it there and is applied as a write of
 * inputs.yaml would be. Same contract as fs_int.h (threads, ownership, errors), which it
 * extends.
 */
#ifndef UNISEC_FS_INPUTS_H
#define UNISEC_FS_INPUTS_H

#include "fs_int.h"

/* Does S's template declare input NAME? */
int fs_input_has(const struct fs_snap *s, const char *name);
/* Calls FN with ARG for each input S's template declares. */
void fs_inputs_list(const struct fs_snap *s, fs_list_fn fn, void *arg);
/* inputs/NAME: the value in force, one line of YAML (engine_topology_input_show()). An
 * fs_gen_fn of the tree. */
int fs_gen_input(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out);
/*
 * FILE (a copy of the served file T changes) as a write of DATA[0..LEN) to T makes it: DATA
 * itself for a whole file; for inputs/NAME (FS_TARGET_INPUT; FILE is inputs.yaml), FILE with
 * NAME set to DATA (one value on one line, read as YAML as `--input NAME=VALUE` reads it) or,
 * for an unlink (T->remove), NAME's value removed (the default in force again), the rest of
 * FILE's text kept (engine_topology_inputs_edit()), and *MSG the commit message. The values
 * are checked with the topology afterwards, as for a write of inputs.yaml (a required input
 * without a default cannot lose its value). 0, -EINVAL (in DIAG), -ENOMEM.
 */
int fs_cand_text(struct fs_text *file, const struct fs_target *t, const char *data, size_t len,
                 char **msg, struct engine_diag *diag);

#endif

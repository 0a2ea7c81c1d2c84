/*
 * csar.h — a TOSCA Cloud Service Archive (CSAR, TOSCA Simple Profile 1.3 section 4; 1.0
 * chapter 16): a zip file holding a service template, the files it imports and its
 * artifacts. engine/TOPOLOGY.md (section "CSAR archives") is the reference.
 *
 * An archive is a stranger's input: opening it checks every entry before anything is read
 * (at most ENGINE_CSAR_ENTRIES_MAX entries; the sizes they declare add up to at most
 * ENGINE_CSAR_TOTAL_MAX; names that are relative, without `.`, `..`, empty parts,
 * backslashes or control characters; each name once; no symbolic link, device or encrypted
 * entry) and refuses the archive, naming it and the entry, if one fails. Nothing is
 * extracted to disk: entries are read into memory when asked for, each one bounded by
 * ENGINE_TOPOLOGY_FILE_MAX and all reads together by ENGINE_CSAR_READ_MAX, and a read stops
 * where the entry's declared size ends.
 *
 * Ownership: engine_csar_open*() makes the archive, engine_csar_free() frees it (NULL too);
 * strings returned are borrowed from it. Threads: one thread at a time per archive (reads
 * move its zip handle and count against its budget).
 */
#ifndef UNISEC_ENGINE_CSAR_H
#define UNISEC_ENGINE_CSAR_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define ENGINE_CSAR_ENTRIES_MAX 4096
#define ENGINE_CSAR_TOTAL_MAX   (256ull << 20) /* declared uncompressed bytes, all entries */
#define ENGINE_CSAR_READ_MAX    (32u << 20)    /* bytes read out of one archive, all reads */
#define ENGINE_CSAR_META        "TOSCA-Metadata/TOSCA.meta"

struct engine_csar;

/*
 * Opens the archive PATH (NAME in messages: PATH itself) or BUF[0..LEN) (borrowed, must
 * outlive the archive; named NAME), checks its entries and finds its entry definitions:
 * TOSCA-Metadata/TOSCA.meta's Entry-Definitions when the archive has that file, else its one
 * .yaml or .yml file at the top. Returns 0, -EINVAL (every problem in DIAG, named
 * "NAME" or "NAME/ENTRY"; DIAG may be NULL), -ENOMEM.
 */
int engine_csar_open(struct engine_csar **out, const char *path, struct engine_diag *diag);
int engine_csar_open_buffer(struct engine_csar **out, const void *buf, size_t len, const char *name,
                            struct engine_diag *diag);
void engine_csar_free(struct engine_csar *c);

/*
 * A service template on disk, PATH, with the directory it is in as the archive: its entry
 * definitions are PATH's file name, its imports are read from that directory's tree as an
 * archive's entries are (engine_csar_resolve(): no absolute path, no '..' out of it), each
 * opened beneath the directory (a symbolic link that leads out of it is refused; where the
 * kernel lacks openat2, every symbolic link is), refused unless a regular file, bounded as an
 * archive's entries are. Files are named DIR/ENTRY (ENTRY alone when PATH has no directory).
 * A PATH that is a symbolic link stands for the file it leads to (its real path, which names
 * it then). It lists no entries (engine_csar_count() is 0): nothing but what is imported is read,
 * so engine_csar_flatten_files() keeps no other file. Returns 0, -EINVAL (in DIAG), -ENOMEM.
 */
int engine_csar_open_dir(struct engine_csar **out, const char *path, struct engine_diag *diag);

/* Whether C is a template's directory (engine_csar_open_dir()) rather than a zip archive. */
int engine_csar_is_dir(const struct engine_csar *c);

/* The name messages give the file ENTRY of C: a new string (caller frees), NULL without
 * memory. */
char *engine_csar_path(const struct engine_csar *c, const char *entry);

/* The archive as messages name it. */
const char *engine_csar_name(const struct engine_csar *c);

/* The entry definitions: an entry name ("Definitions/service.yaml"). */
const char *engine_csar_entry(const struct engine_csar *c);

/* Whether the archive has TOSCA-Metadata/TOSCA.meta (a 1.0 template needs one). */
int engine_csar_has_meta(const struct engine_csar *c);

/* Whether ENTRY is a file of the archive. */
int engine_csar_has_file(const struct engine_csar *c, const char *entry);

/*
 * Reads the file ENTRY into a new NUL-terminated buffer (*BUF, caller frees; *LEN without the
 * NUL). -ENOENT when there is no such file (nothing in DIAG); -EINVAL for a file over
 * ENGINE_TOPOLOGY_FILE_MAX, a read over the archive's budget, or a damaged entry (in DIAG,
 * which must not be NULL).
 */
int engine_csar_read(struct engine_csar *c, const char *entry, char **buf, size_t *len,
                     struct engine_diag *diag);

/*
 * engine_csar_read() with MAX bytes as the bound of the file; UNBUDGETED: not counted against
 * (nor held to) the archive's ENGINE_CSAR_READ_MAX, for a caller that bounds what it reads
 * itself (init keeping an archive's files, at most ENGINE_CSAR_KEEP_MAX in all).
 */
int engine_csar_read_max(struct engine_csar *c, const char *entry, size_t max, int unbudgeted,
                         char **buf, size_t *len, struct engine_diag *diag);

/* The archive's entries (directories included), and the name of the I-th when it is a file
 * (sorted by name), with the size it declares in *SIZE; NULL for a directory. */
size_t engine_csar_count(const struct engine_csar *c);
const char *engine_csar_file_at(const struct engine_csar *c, size_t i, uint64_t *size);

/*
 * The entry that REL names from a file in directory DIR of the archive ("" for the top),
 * with `.` and `..` resolved: a new string in *OUT (caller frees). -EINVAL with *WHY a static
 * sentence when REL is absolute or leaves the archive; -ENOMEM.
 */
int engine_csar_resolve(const char *dir, const char *rel, char **out, const char **why);

/*
 * The entry definitions with every file it imports (inside the archive, each once) merged in:
 * one YAML document without `imports`, each imported file's definitions (node_types,
 * data_types, ..., unikernel_modules, security_functions, every section but its description,
 * metadata, dsl_definitions and topology_template) added to the entry's sections, in a new
 * buffer *OUT (caller frees; *LEN bytes). For a store, which holds one topology file.
 * Comments and layout are not kept; values, styles and anchors are. Call it on an archive that
 * engine_topology_load_csar() accepted. An import's namespace_uri and namespace_prefix are
 * dropped: its definitions are merged by their own names, which is how the loader reads them
 * (engine/TOPOLOGY.md 1.1). Returns 0, -EINVAL (in DIAG) or -ENOMEM.
 */
int engine_csar_flatten(struct engine_csar *c, char **out, size_t *len, struct engine_diag *diag);

/* Whether the service template BUF[0..LEN) imports a file: 1 when its `imports` has an item,
 * 0 when not (or it is not a YAML mapping: the load says what is wrong), -ENOMEM. */
int engine_csar_template_imports(const char *buf, size_t len);

/* A file of an archive: its entry name and contents (owned). */
struct engine_csar_file {
    char *entry;
    char *data;
    size_t len;
};

/* The bytes of an archive's other files a store keeps, all together (and so each). */
#define ENGINE_CSAR_KEEP_MAX (64u << 20)

/*
 * engine_csar_flatten(), and in *FILES (caller frees with engine_csar_files_free(); *N of
 * them) every other file of the archive, in byte order of its name: all but the definitions
 * merged into *OUT (scripts, artifacts, images, TOSCA-Metadata/TOSCA.meta, templates nothing
 * imports), so that a store keeps them. -EINVAL (in DIAG) when they pass ENGINE_CSAR_KEEP_MAX.
 */
int engine_csar_flatten_files(struct engine_csar *c, char **out, size_t *len,
                              struct engine_csar_file **files, size_t *n, struct engine_diag *diag);
void engine_csar_files_free(struct engine_csar_file *v, size_t n);

/* Whether PATH is to be read as an archive: its name ends in .csar or .zip (any case), or
 * it starts as a zip file does. */
int engine_csar_is_archive(const char *path);

/* Whether BUF[0..LEN) starts as a zip file does. */
int engine_csar_is_zip(const void *buf, size_t len);

#endif

/*
 * cmd.h — what every subcommand's option parser shares (unisec's and unisec-tender's):
 * getopt_long() with one wording of usage errors, numbers checked against their range, old
 * option spellings that still work with a note, and "-" for standard input.
 *
 * Usage errors print "unisec CMD: WHAT", the command's usage line and a pointer to --help
 * on stderr; the command then exits with ENGINE_CMD_USAGE. These functions print (they are
 * the command line's, not the library's) and never exit.
 */
#ifndef UNISEC_ENGINE_CMD_H
#define UNISEC_ENGINE_CMD_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

/* The exit status of a usage error (unknown option, missing or malformed value). */
#define ENGINE_CMD_USAGE 2

/* Most bytes read from standard input for "-" (a topology or a policy file). */
#define ENGINE_CMD_STDIN_MAX (64u << 20)

/* One command's parser. Fill the first four fields; the rest is the parser's state. */
struct engine_cmd {
    const char *name;   /* "unisec check": the start of every message */
    const char *usage;  /* the synopsis, "unisec check [--target hvt|spt] FILE" */
    const char *shorts; /* getopt_long()'s short options; a leading '-' returns operands as 1 */
    const struct option *longs; /* ends with a zeroed entry */
    char opts_[64];             /* shorts with ':' inserted (missing values reported apart) */
};

/*
 * The next option of ARGV (argv[0] is skipped), as getopt_long() returns it (its val, or 1
 * for an operand with a leading '-' in shorts), with optarg set; -1 at the end, with optind
 * at the first operand left (after a "--"). On an unknown option, a missing value or a value
 * given to an option that takes none, prints why (engine_cmd_usage()) and returns '?'.
 * The first call on C starts a new scan (getopt's state is reset).
 */
int engine_cmd_next(struct engine_cmd *c, int argc, char **argv);

/* The one operand left after the options (argv[optind] on), named WHAT in messages: *OUT is
 * it, NULL when there is none. Returns 0, or ENGINE_CMD_USAGE (printed) when there are more. */
int engine_cmd_operand(const struct engine_cmd *c, int argc, char **argv, const char *what,
                       const char **out);

/* Prints "C->name: WHY" (printf format), the usage line and the --help pointer on stderr;
 * returns ENGINE_CMD_USAGE. */
int engine_cmd_usage(const struct engine_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A decimal whole number S, the value of option OPT, in [MIN, MAX] into *OUT: digits only,
 * no sign, no blank, no suffix. Returns 0, or prints "OPT 'S': expected a whole number from
 * MIN to MAX" as a usage error and returns -EINVAL.
 */
int engine_cmd_u64(const struct engine_cmd *c, const char *opt, const char *s, uint64_t min,
                   uint64_t max, uint64_t *out);

/* Notes on stderr that OLD is the former spelling of NEW, kept for one release. */
void engine_cmd_alias(const struct engine_cmd *c, const char *old, const char *now);

/*
 * The whole of PATH, or of standard input when PATH is "-", at most MAX bytes, into a new
 * NUL-terminated buffer *BUF of *LEN bytes (caller frees). Prints "C->name: PATH: reason"
 * (<stdin> for "-") and returns a negative errno when it cannot: -EFBIG beyond MAX.
 */
int engine_cmd_read(const struct engine_cmd *c, const char *path, size_t max, char **buf,
                    size_t *len);

/* What messages call standard input. */
#define ENGINE_CMD_STDIN_NAME "<stdin>"

/*
 * Loads the topology PATH as engine_topology_load_file() does, or from standard input when
 * PATH is "-" (named <stdin> in messages; imports resolve from the working directory); a
 * CSAR archive (engine_csar_is_archive(), or standard input that starts as a zip file) as
 * engine_topology_load_csar() does. The _given form with GIVEN's values for its inputs
 * (engine_topology_load_file_given(); NULL: none).
 * In cmd_topology.c: the tender, which links only this file's parser, does not call it.
 */
struct engine_topology;
struct engine_topology_given;
struct engine_diag;
int engine_cmd_topology_load(const struct engine_cmd *c, struct engine_topology **t,
                             const char *path, struct engine_diag *d);
int engine_cmd_topology_load_given(const struct engine_cmd *c, struct engine_topology **t,
                                   const char *path, const struct engine_topology_given *given,
                                   struct engine_diag *d);

#endif

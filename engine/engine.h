/*
 * engine.h — the engine's public header: everything the other parts of unisec (fs, orch,
 * builder, runtime, the unisec binary) may use of it. Include this one, not the sub-headers
 * it gathers; each sub-header is the reference of its sub-part.
 *
 * Sub-parts:
 *   diag.h        the one error type (positioned messages)
 *   log.h         the one logging call, its line format and sinks (stderr, file, syslog, journal)
 *   grow.h        the one growth rule of arrays (doubling)
 *   read.h        the one bounded read of a descriptor to its end
 *   name_index.h  an array's positions sorted by name, searched in O(log n)
 *   rlog.h        a size-bounded log on disk, rotated over a few files (access logs, consoles)
 *   share.h       where the guest sources and the module catalogue are (installed or not)
 *   csar.h        a CSAR archive (zip) checked and read, for the topology reader
 *   topology.h    the SecTOSCA topology, its run-time state, the interpreters and the
 *                 artifacts they derive (engine/TOPOLOGY.md)
 *   acl.h         the ACL language: policy files, the compiled blob, credentials (engine/ACL.md)
 *   store.h       the git repository (libgit2) that holds the desired state
 *   cmd.h         what every subcommand's option parser shares (getopt_long, numbers, "-")
 *   tls.h         a node's TLS certificate chain and key checked, its credentials made
 * Not gathered here: json.h (JSON text made completely or not at all) includes <jansson.h>,
 * which only the parts that write JSON build with; the tender, which links the diagnostics
 * alone, does not. Those parts include engine/json.h themselves.
 *
 * Calls: the engine calls no other part of unisec; the others call it. Reports come back as
 * return values and diagnostics, never as calls into the caller (except the store log's
 * callback, which runs with the store locked).
 *
 * Threads: the engine starts none. A loaded topology, a derived result and a loaded ACL set
 * are read-only: any number of threads may read them at once. A topology state or an ACL set
 * being changed needs its caller's exclusive access. A store serialises its own calls (one
 * mutex per store); its only process-wide effect is libgit2's fsync option (store.h).
 *
 * Ownership: each object (topology, state, derived result, ACL set, store) is made by one
 * function and freed by its _free(), which accepts NULL. What a getter returns is borrowed
 * from the object it came from, valid until that object is freed. A buffer returned through
 * an out-pointer (char **, void **, arrays) is the caller's, freed as its function says.
 *
 * Errors: functions return 0 (or a documented positive code) or a negative errno: -EINVAL for
 * input a user can fix, with every problem appended to a struct engine_diag as FILE:LINE:COL
 * and a sentence (DIAG may be NULL where the function says so), -ENOMEM, -ENOENT, -EIO, and
 * the codes each function documents. Library code never prints and never exits: only the
 * subcommands below, and diag.h's print and log calls when a caller makes them, write out.
 */
#ifndef UNISEC_ENGINE_H
#define UNISEC_ENGINE_H

#include "acl.h"
#include "cmd.h"
#include "csar.h"
#include "diag.h"
#include "fault.h"
#include "grow.h"
#include "name_index.h"
#include "read.h"
#include "rlog.h"
#include "share.h"
#include "store.h"
#include "tls.h"
#include "topology.h"

/*
 * Subcommands of the unisec binary that the engine implements. Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand's name), prints its own output and
 * errors, and returns the process exit status (0 success, 1 invalid input, 2 usage error).
 */
int engine_cmd_check(int argc, char **argv);
int engine_cmd_translate(int argc, char **argv);
int engine_cmd_acl(int argc, char **argv);

#endif

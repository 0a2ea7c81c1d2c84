/*
 * engine.h — what the other parts of unisec may use of the engine: the error list, the
 * topology model and its interpreters (SecTOSCA -> UniTOSCA -> TOSCA), the ACL language,
 * and the engine's command-line subcommands.
 */
#ifndef UNISEC_ENGINE_H
#define UNISEC_ENGINE_H

#include "diag.h"
#include "topology.h"
#include "acl.h"

/*
 * Subcommands of the unisec binary that the engine implements. Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand's name), prints its own output and
 * errors, and returns the process exit status (0 success, 1 invalid input, 2 usage error).
 */
int engine_cmd_check(int argc, char **argv);
int engine_cmd_translate(int argc, char **argv);
int engine_cmd_acl(int argc, char **argv);

#endif

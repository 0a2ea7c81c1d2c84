/* unisec.c — the unisec command: dispatches a subcommand from a table. */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

struct unisec_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *args;    /* synopsis after the command name */
    const char *summary; /* one line */
    const char *help;    /* the rest of `unisec CMD --help` */
};

static const struct unisec_cmd unisec_cmds[] = {
    {"check", engine_cmd_check, "[--target hvt|spt] FILE",
     "validate a SecTOSCA topology and print a one-line summary",
     "Loads FILE (and the files it imports), checks it against the SecTOSCA and UniTOSCA\n"
     "rules for the execution environment (default: hvt), and prints a one-line summary.\n"
     "On failure prints every error as FILE:LINE:COL: error: MESSAGE and exits 1.\n"},
    {"acl", engine_cmd_acl, "check|query|compile|passwd ...",
     "check, query and compile access-control policies",
     "  unisec acl check FILE...       validate acl, groups and credentials files\n"
     "                                  (or a policy directory holding them)\n"
     "  unisec acl query POLICYDIR POLICY SUBJECT METHOD PATH\n"
     "                                  print the decision and the rule that decided it\n"
     "  unisec acl compile POLICYDIR [--policy NAME] [--version N] -o BLOB\n"
     "                                  write the compiled, versioned binary form\n"
     "  unisec acl passwd USER          read a password on stdin, print a credentials line\n"},
};

#define UNISEC_NCMDS (sizeof(unisec_cmds) / sizeof(unisec_cmds[0]))

static void unisec_usage(FILE *out)
{
    fprintf(out, "usage: unisec COMMAND [ARGS...]\n\n"
                 "unisec: software-defined security for unikernel clouds.\n\ncommands:\n");
    for (size_t i = 0; i < UNISEC_NCMDS; i++)
        fprintf(out, "  %-10s %s\n", unisec_cmds[i].name, unisec_cmds[i].summary);
    fprintf(out, "\nRun `unisec COMMAND --help` for the arguments of one command.\n");
}

static int unisec_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        unisec_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        unisec_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < UNISEC_NCMDS; i++) {
        const struct unisec_cmd *c = &unisec_cmds[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        if (unisec_wants_help(argc - 1, argv + 1)) {
            printf("usage: unisec %s %s\n\n%s.\n\n%s", c->name, c->args, c->summary, c->help);
            return 0;
        }
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "unisec: unknown command '%s'\n\n", argv[1]);
    unisec_usage(stderr);
    return 2;
}

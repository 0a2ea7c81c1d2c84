/* cmd_run.c — the tender's command line (`unisec-tender IMAGE ...`, which `unisec run IMAGE
 * ...` executes): runs one image in the foreground on the tender its target note names, with
 * its console on stdout. */
#include "tender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The program's name in messages: "unisec-tender" when run as such, else "unisec run"
 * (unisec executes the tender with that argv[0]). */
static const char *cmd_run_name = "unisec run";

#define CMD_RUN_USAGE                                                                              \
    " IMAGE [--port=[HOST:]PORT] [--listen=NAME=[HOST:]PORT]...\n"                                 \
    "         [--listen-fd=NAME=FD]... [--upstream=NAME=HOST:PORT]...\n"                           \
    "         [--policy-blob=BLOB] [--policy-fd=N] [--control-fd=N]\n"                             \
    "         [--tls-cert=CHAIN.pem --tls-key=KEY.pem] [--tls-fd=N]\n"                             \
    "         [--mem=MIB] [--streams=N] [--quiet] [-- ARGS...]"

enum {
    CMD_RUN_PORT = 0x100,
    CMD_RUN_LISTEN,
    CMD_RUN_LISTEN_FD,
    CMD_RUN_UPSTREAM,
    CMD_RUN_POLICY_BLOB,
    CMD_RUN_OLD_POLICY,
    CMD_RUN_POLICY_FD,
    CMD_RUN_CONTROL_FD,
    CMD_RUN_TLS_CERT,
    CMD_RUN_TLS_KEY,
    CMD_RUN_TLS_FD,
    CMD_RUN_MEM,
    CMD_RUN_STREAMS,
    CMD_RUN_VERSION,
};

static const struct option cmd_run_opts[] = {
    {.name = "port", .has_arg = required_argument, .val = CMD_RUN_PORT},
    {.name = "listen", .has_arg = required_argument, .val = CMD_RUN_LISTEN},
    {.name = "listen-fd", .has_arg = required_argument, .val = CMD_RUN_LISTEN_FD},
    {.name = "upstream", .has_arg = required_argument, .val = CMD_RUN_UPSTREAM},
    {.name = "policy-blob", .has_arg = required_argument, .val = CMD_RUN_POLICY_BLOB},
    /* The spelling of the release before; it goes in the next one. */
    {.name = "policy", .has_arg = required_argument, .val = CMD_RUN_OLD_POLICY},
    {.name = "policy-fd", .has_arg = required_argument, .val = CMD_RUN_POLICY_FD},
    {.name = "control-fd", .has_arg = required_argument, .val = CMD_RUN_CONTROL_FD},
    {.name = "tls-cert", .has_arg = required_argument, .val = CMD_RUN_TLS_CERT},
    {.name = "tls-key", .has_arg = required_argument, .val = CMD_RUN_TLS_KEY},
    {.name = "tls-fd", .has_arg = required_argument, .val = CMD_RUN_TLS_FD},
    {.name = "mem", .has_arg = required_argument, .val = CMD_RUN_MEM},
    {.name = "streams", .has_arg = required_argument, .val = CMD_RUN_STREAMS},
    {.name = "quiet", .has_arg = no_argument, .val = 'q'},
    {.name = "help", .has_arg = no_argument, .val = 'h'},
    {.name = "version", .has_arg = no_argument, .val = CMD_RUN_VERSION},
    {0},
};

/* An inherited descriptor number: above 2 (0 to 2 are the standard streams). */
static int cmd_run_fd(const char *s)
{
    char *end;
    long fd = strtol(s, &end, 10);
    return *s == 0 || *end || fd < 3 || fd > 65535 ? -1 : (int)fd;
}

/* Splits "NAME=VALUE" in place. */
static int cmd_run_pair(char *arg, const char **name, const char **value)
{
    char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || eq[1] == 0)
        return -1;
    *eq = 0;
    *name = arg;
    *value = eq + 1;
    return 0;
}

/* One option of the command line into CFG. Returns 0, or ENGINE_CMD_USAGE (message printed). */
static int cmd_run_opt(struct engine_cmd *c, struct tender_config *cfg, int opt, char *arg)
{
    struct tender_listen *l = &cfg->listen[cfg->nlisten];
    struct tender_upstream *u = &cfg->upstream[cfg->nupstream];
    const char *fd = NULL;
    uint64_t n;

    switch (opt) {
    case 1: /* an operand: the image */
        if (cfg->image != NULL)
            return engine_cmd_usage(c,
                                    "one image at a time ('%s' is a second; boot arguments "
                                    "go after --)",
                                    arg);
        cfg->image = arg;
        return 0;
    case CMD_RUN_PORT:
        if (cfg->nlisten == TENDER_CONFIG_MAX)
            return engine_cmd_usage(c, "too many listening devices");
        *l = (struct tender_listen){NULL, arg};
        cfg->nlisten++;
        return 0;
    case CMD_RUN_LISTEN:
        if (cfg->nlisten == TENDER_CONFIG_MAX || cmd_run_pair(arg, &l->device, &l->addr))
            return engine_cmd_usage(c, "--listen wants NAME=[HOST:]PORT");
        cfg->nlisten++;
        return 0;
    case CMD_RUN_LISTEN_FD:
        if (cfg->nlisten == TENDER_CONFIG_MAX || cmd_run_pair(arg, &l->device, &fd) ||
            (l->fd = cmd_run_fd(fd)) < 0)
            return engine_cmd_usage(c, "--listen-fd wants NAME=FD, FD an inherited listening "
                                       "socket above 2");
        cfg->nlisten++;
        return 0;
    case CMD_RUN_UPSTREAM:
        if (cfg->nupstream == TENDER_CONFIG_MAX || cmd_run_pair(arg, &u->device, &u->addr))
            return engine_cmd_usage(c, "--upstream wants NAME=HOST:PORT");
        cfg->nupstream++;
        return 0;
    case CMD_RUN_OLD_POLICY:
        engine_cmd_alias(c, "--policy", "--policy-blob");
        /* fall through */
    case CMD_RUN_POLICY_BLOB:
        cfg->policy_file = arg;
        return 0;
    case CMD_RUN_POLICY_FD:
        if ((cfg->policy_fd = cmd_run_fd(arg)) < 0)
            return engine_cmd_usage(c, "--policy-fd wants an open descriptor number above 2");
        return 0;
    case CMD_RUN_CONTROL_FD:
        if ((cfg->control_fd = cmd_run_fd(arg)) < 0)
            return engine_cmd_usage(c, "--control-fd wants an open descriptor number above 2");
        return 0;
    case CMD_RUN_TLS_CERT:
        cfg->tls_cert = arg;
        return 0;
    case CMD_RUN_TLS_KEY:
        cfg->tls_key = arg;
        return 0;
    case CMD_RUN_TLS_FD:
        if ((cfg->tls_fd = cmd_run_fd(arg)) < 0)
            return engine_cmd_usage(c, "--tls-fd wants an open descriptor number above 2");
        return 0;
    case CMD_RUN_MEM:
        if (engine_cmd_u64(c, "--mem", arg, 1, UNISEC_MEM_MAX >> 20, &n) < 0)
            return ENGINE_CMD_USAGE;
        cfg->mem_size = n << 20;
        return 0;
    case CMD_RUN_STREAMS:
        if (engine_cmd_u64(c, "--streams", arg, 1, UNISEC_STREAMS_MAX, &n) < 0)
            return ENGINE_CMD_USAGE;
        cfg->max_streams = (uint32_t)n;
        return 0;
    case 'q':
        cfg->verbose = 0;
        return 0;
    default:
        return ENGINE_CMD_USAGE;
    }
}

/* "-" reads standard input, which one option at most can have. The image cannot: it is
 * mapped, not read (tender_core.c), and a pipe cannot be. */
static int cmd_run_stdin(struct engine_cmd *c, const struct tender_config *cfg)
{
    if (strcmp(cfg->image, "-") == 0)
        return engine_cmd_usage(c, "the image cannot come from standard input: it is mapped, "
                                   "not read; give its file");
    const struct {
        const char *opt, *value;
    } from[] = {
        {"--policy-blob", cfg->policy_file},
        {"--tls-cert", cfg->tls_cert},
        {"--tls-key", cfg->tls_key},
    };
    const char *first = NULL;
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        if (from[i].value == NULL || strcmp(from[i].value, "-") != 0)
            continue;
        if (first)
            return engine_cmd_usage(c,
                                    "%s and %s both read standard input ('-'); give one of "
                                    "them a file",
                                    first, from[i].opt);
        first = from[i].opt;
    }
    return 0;
}

int tender_cmd_run(int argc, char **argv)
{
    struct tender_config cfg = {
        .policy_fd = -1, .tls_fd = -1, .control_fd = -1, .console_fd = STDOUT_FILENO, .verbose = 1};
    char *cmdline = NULL;
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : argc > 0 ? argv[0] : "";
    if (strcmp(base, TENDER_EXE_NAME) == 0)
        cmd_run_name = TENDER_EXE_NAME;
    char usage[512];
    snprintf(usage, sizeof(usage), "%s%s", cmd_run_name, CMD_RUN_USAGE);
    /* '-': operands come back in order (the image), and "--" ends the options: what follows
     * is the guest's boot arguments. */
    struct engine_cmd c = {
        .name = cmd_run_name, .usage = usage, .shorts = "-qh", .longs = cmd_run_opts};
    int opt;
    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        if (opt == 'h') {
            printf("usage: %s\n(`unisec run --help` describes each option)\n", usage);
            return 0;
        }
        if (opt == CMD_RUN_VERSION) {
            printf("%s %s\n", TENDER_EXE_NAME, UNISEC_VERSION);
            return 0;
        }
        if (cmd_run_opt(&c, &cfg, opt, optarg) != 0)
            return ENGINE_CMD_USAGE;
    }
    if (cfg.image == NULL)
        return engine_cmd_usage(&c, "no image given");
    if (cmd_run_stdin(&c, &cfg) != 0)
        return ENGINE_CMD_USAGE;
    int i = optind;
    size_t len = 1;
    for (int k = i; k < argc; k++)
        len += strlen(argv[k]) + 1;
    cmdline = calloc(1, len);
    if (cmdline == NULL)
        return 1;
    for (int k = i; k < argc; k++) {
        if (k > i)
            strcat(cmdline, " ");
        strcat(cmdline, argv[k]);
    }
    cfg.cmdline = cmdline;

    struct engine_diag d;
    engine_diag_init(&d);
    struct tender t;
    int rc = tender_init(&t, &cfg, &d);
    if (rc == 0) {
        rc = t.img.target == UNISEC_TARGET_HVT ? tender_hvt_run(&t, &d) : tender_spt_run(&t, &d);
        tender_fini(&t);
    }
    if (rc < 0) {
        engine_diag_print(&d, stderr);
        rc = 1;
    }
    engine_diag_free(&d);
    free(cmdline);
    return rc;
}

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

static int cmd_run_usage(FILE *out, const char *msg)
{
    if (msg)
        fprintf(out, "%s: %s\n", cmd_run_name, msg);
    fprintf(out,
            "usage: %s IMAGE [--port [HOST:]PORT] [--listen NAME=[HOST:]PORT]...\n"
            "         [--listen-fd NAME=FD]... [--upstream NAME=HOST:PORT]...\n"
            "         [--policy BLOB] [--policy-fd N] [--control-fd N]\n"
            "         [--mem MIB] [--streams N] [--quiet] [-- ARGS...]\n"
            "(`unisec run --help` describes each option)\n",
            cmd_run_name);
    return msg ? 2 : 0;
}

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

int tender_cmd_run(int argc, char **argv)
{
    struct tender_config cfg = {
        .policy_fd = -1, .control_fd = -1, .console_fd = STDOUT_FILENO, .verbose = 1};
    char *cmdline = NULL;
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : argc > 0 ? argv[0] : "";
    if (strcmp(base, TENDER_EXE_NAME) == 0)
        cmd_run_name = TENDER_EXE_NAME;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return cmd_run_usage(stdout, NULL);
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--port") == 0 && more) {
            if (cfg.nlisten == TENDER_CONFIG_MAX)
                return cmd_run_usage(stderr, "too many listening devices");
            cfg.listen[cfg.nlisten++] = (struct tender_listen){NULL, argv[++i]};
        } else if (strcmp(a, "--listen") == 0 && more) {
            struct tender_listen *l = &cfg.listen[cfg.nlisten];
            if (cfg.nlisten == TENDER_CONFIG_MAX || cmd_run_pair(argv[++i], &l->device, &l->addr))
                return cmd_run_usage(stderr, "--listen wants NAME=[HOST:]PORT");
            cfg.nlisten++;
        } else if (strcmp(a, "--listen-fd") == 0 && more) {
            struct tender_listen *l = &cfg.listen[cfg.nlisten];
            const char *fd = NULL;
            if (cfg.nlisten == TENDER_CONFIG_MAX || cmd_run_pair(argv[++i], &l->device, &fd) ||
                (l->fd = cmd_run_fd(fd)) < 0)
                return cmd_run_usage(stderr, "--listen-fd wants NAME=FD, FD an inherited listening "
                                             "socket above 2");
            cfg.nlisten++;
        } else if (strcmp(a, "--control-fd") == 0 && more) {
            if ((cfg.control_fd = cmd_run_fd(argv[++i])) < 0)
                return cmd_run_usage(stderr,
                                     "--control-fd wants an open descriptor number above 2");
        } else if (strcmp(a, "--upstream") == 0 && more) {
            struct tender_upstream *u = &cfg.upstream[cfg.nupstream];
            if (cfg.nupstream == TENDER_CONFIG_MAX || cmd_run_pair(argv[++i], &u->device, &u->addr))
                return cmd_run_usage(stderr, "--upstream wants NAME=HOST:PORT");
            cfg.nupstream++;
        } else if (strcmp(a, "--policy") == 0 && more) {
            cfg.policy_file = argv[++i];
        } else if (strcmp(a, "--policy-fd") == 0 && more) {
            if ((cfg.policy_fd = cmd_run_fd(argv[++i])) < 0)
                return cmd_run_usage(stderr, "--policy-fd wants an open descriptor number above 2");
        } else if (strcmp(a, "--mem") == 0 && more) {
            char *end;
            unsigned long mib = strtoul(argv[++i], &end, 10);
            if (*end || mib == 0 || mib > (UNISEC_MEM_MAX >> 20))
                return cmd_run_usage(stderr, "--mem wants a size in MiB");
            cfg.mem_size = (uint64_t)mib << 20;
        } else if (strcmp(a, "--streams") == 0 && more) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (*end || n == 0 || n > UNISEC_STREAMS_MAX)
                return cmd_run_usage(stderr, "--streams wants 1 to 4096");
            cfg.max_streams = (uint32_t)n;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cfg.verbose = 0;
        } else if (a[0] == '-' || cfg.image) {
            return cmd_run_usage(stderr, a[0] == '-' ? "unknown option or missing value"
                                                     : "one image at a time");
        } else {
            cfg.image = a;
        }
    }
    if (cfg.image == NULL)
        return cmd_run_usage(stderr, "no image given");
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

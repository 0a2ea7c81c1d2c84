/* unisec.c — the unisec command: dispatches a subcommand from a table. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "engine/engine.h"
#include "fs/fs.h"
#include "orch/orch.h"
#include "runtime/tender.h"

struct unisec_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *args;    /* synopsis after the command name */
    const char *summary; /* one line */
    const char *help;    /* the rest of `unisec CMD --help` */
    int old_version;     /* `--version N` is the old spelling of --policy-version N */
};

static const struct unisec_cmd unisec_cmds[] = {
    {"check", engine_cmd_check,
     "[--target=hvt|spt] [--policy-dir=DIR] [--json] [--input=NAME=VALUE]... [--inputs=FILE] "
     "FILE|-",
     "validate a SecTOSCA topology and print a one-line summary",
     "Loads FILE (- for standard input; imports then resolve from the working directory),\n"
     "checks it against the SecTOSCA and UniTOSCA rules for the execution environment\n"
     "(default: hvt), and prints a one-line summary. Every policy the topology names must\n"
     "have rules in --policy-dir DIR, or in the policy/ directory beside FILE when there is one.\n"
     "On failure prints every error as FILE:LINE:COL: error: MESSAGE and exits 1.\n"
     "  --json        one JSON object on stdout instead (fields: file, valid, target,\n"
     "                tosca_version, nodes, node_levels, images, errors[] of file, line,\n"
     "                column, message; see unisec-check(1))\n"
     "  --input NAME=VALUE, --inputs FILE\n"
     "                values for the template's inputs, as unisec init takes them: each is\n"
     "                checked against its definition, and every input required without a\n"
     "                default then needs one\n"
     "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.\n"},
    {"translate", engine_cmd_translate,
     "[--target=hvt|spt] [--policy-dir=DIR] [--input=NAME=VALUE]... [--inputs=FILE] FILE|- -o "
     "DIR",
     "derive the UniTOSCA, TOSCA, P_SO, P_UG and Graphviz artifacts of a topology",
     "Checks FILE as `unisec check` does, then writes into DIR (-o, --output; created if\n"
     "missing):\n"
     "  unitosca.yaml  D_uniTOSCA: each node's unikernel composition at every level (eq. 3)\n"
     "  tosca.yaml     D_TOSCA: native TOSCA with the images as artifacts (eq. 5)\n"
     "  p_so.json      P_SO: the security orchestrator's policy per node and level\n"
     "  p_ug.json      P_UG: the unikernel generation policy (modules, configuration)\n"
     "  topology.dot   the topology for Graphviz\n"
     "and prints the path of each. Every node is taken at level default; --input and --inputs\n"
     "give the template's inputs values, as for unisec check.\n"},
    {"acl", engine_cmd_acl, "check|query|compile|passwd ...",
     "check, query and compile access-control policies",
     "  unisec acl check [--kind=acl|groups|credentials] FILE|POLICYDIR|-...\n"
     "        validate acl, groups and credentials files (or a policy directory holding them);\n"
     "        - reads standard input as a file of --kind\n"
     "  unisec acl query [--json] POLICYDIR POLICY SUBJECT METHOD PATH\n"
     "        print the decision and the rule that decided it (SUBJECT - : anonymous); exits\n"
     "        0 allow, 3 deny. --json: one object (decision, policy, subject, method, path,\n"
     "        rule: null or {file, line, text}; see unisec-acl(1))\n"
     "  unisec acl compile [--policy-name=NAME] [--policy-version=N] POLICYDIR -o BLOB\n"
     "        write the compiled, versioned binary form (--policy NAME and --version N are\n"
     "        the old spellings, accepted until the next release)\n"
     "  unisec acl passwd [--iterations=N] USER\n"
     "        read a password on stdin, print a credentials line\n",
     .old_version = 1},
    {"init", fs_cmd_init,
     "STORE --from=TOPOLOGY|- [--policy-dir=DIR] [--target=hvt|spt] [--signing-key=KEY]",
     "create a store: a git repository holding the desired state",
     "Creates STORE (a new or empty directory) as a git repository whose tree is the desired\n"
     "state: topology.yaml (from TOPOLOGY, - for standard input), state/levels,\n"
     "state/properties, and policy/acl, policy/groups, policy/credentials (from DIR's files\n"
     "of those names, each optional; empty otherwise), in one first commit authored by you.\n"
     "Every node starts at level default. Everything is validated first (the topology on the\n"
     "target, default hvt); nothing is created when something is invalid.\n"
     "--signing-key KEY copies the SSH private key KEY (mode 0600) into STORE/.git; every\n"
     "commit, the first included, is then signed with it (fs/MOUNT.md, Signed history).\n"
     "--policy DIR is the old spelling of --policy-dir DIR, accepted until the next release.\n"},
    {"mount", fs_cmd_mount,
     "[-f] [-o OPTIONS] [--no-run] [--log=FILE] [--target=hvt|spt] --store=STORE MOUNTPOINT",
     "serve a store as a file system (FUSE) and run its topology",
     "Mounts STORE on MOUNTPOINT (fs/MOUNT.md describes the tree and the write rules) and\n"
     "runs in the background; `fusermount3 -u MOUNTPOINT` unmounts it, stops every instance\n"
     "and ends the daemon. Every node runs as a unikernel instance at its current level on\n"
     "the ports its properties give; every accepted change is a commit, then realised (pushed\n"
     "rules, or a new image swapped in), and each deployment is a commit too.\n"
     "`cat MOUNTPOINT/settle` waits until the last change has converged (and fails with EIO\n"
     "after its report when a node failed). unisec-mount(5) describes the tree.\n"
     "  -f            stay in the foreground, log to stderr\n"
     "  -o OPTIONS    FUSE mount options, e.g. allow_other (default_permissions is always on),\n"
     "                and unisec's: target=hvt|spt, host=ADDR (where instances listen,\n"
     "                default 127.0.0.1), norun, log=FILE|syslog\n"
     "  --no-run      serve files and history without building or starting anything\n"
     "  --log FILE    the daemon's log (default: STORE/.git/unisec.log; `syslog`: syslog(3));\n"
     "                SIGHUP reopens it\n"
     "  --target T    where instances run and the topology is checked for (hvt, spt;\n"
     "                default hvt where /dev/kvm can be opened, else spt)\n"
     "From /etc/fstab: `STORE MOUNTPOINT fuse.unisec allow_other 0 0` (see README).\n"},
    {"status", fs_cmd_status, "--store=STORE [--json]",
     "say what a store holds, whether a daemon serves it and whether a node failed",
     "Prints the store's last change, its policy, whether a daemon serves it (and where it\n"
     "is mounted), each node's level, PDP and, when served, what runs (the mount's\n"
     "nodes/NODE/status), and the last deployment recorded in state/deployed.\n"
     "  --json        one JSON object on stdout instead (fields: store, head, last_change,\n"
     "                policy, served, mount, nodes[] of name, level, pdp, status, failed;\n"
     "                failed, deployed; see unisec-status(1))\n"
     "Exit status: 0 a daemon serves the store and no node failed; 1 the store (or the\n"
     "mount) cannot be read; 2 usage error; 3 no daemon serves the store (not mounted, or\n"
     "its daemon died); 4 served, and a node failed or its last change did.\n"},
    {"run", tender_cmd_exec,
     "IMAGE [--port=[HOST:]PORT] [--listen=NAME=[HOST:]PORT]... [--listen-fd=NAME=FD]... "
     "[--upstream=NAME=HOST:PORT]... [--policy-blob=BLOB] [--policy-fd=N] [--control-fd=N] "
     "[--tls-cert=CHAIN --tls-key=KEY] [--tls-fd=N] [--mem=MIB] [--streams=N] [--quiet] "
     "[-- ARGS...]",
     "run one unikernel image in the foreground and print its console",
     "Reads IMAGE's target note and runs it on hvt (KVM) or spt (a seccomp-confined\n"
     "process). The console goes to stdout; listening addresses, policy answers and, if\n"
     "the guest breaks the rules, why it was killed go to stderr. Exits with the guest's\n"
     "status, 255 when it was killed, 1 when it could not start. The tender is the small\n"
     "program unisec-tender, installed beside unisec, which this command becomes (same\n"
     "process, same arguments: `unisec-tender IMAGE ...` does the same).\n\n"
     "  --port [HOST:]PORT        address of the image's front: its listening device\n"
     "                            https, else http, else its only one; HOST defaults to\n"
     "                            127.0.0.1, PORT 0 picks a free port\n"
     "  --listen NAME=[HOST:]PORT address of the listening device NAME\n"
     "  --upstream NAME=HOST:PORT where the upstream or PDP device NAME connects\n"
     "  --policy-blob BLOB        a policy blob delivered on the policy channel at boot\n"
     "                            (--policy BLOB: the old spelling, until the next release)\n"
     "  --policy-fd N             an inherited stream socket: each blob as an 8-byte\n"
     "                            little-endian length and the bytes; answers come back as\n"
     "                            lines \"ack VERSION\" or \"refuse VERSION ERRNO REASON\"\n"
     "  --listen-fd NAME=FD       an inherited listening socket for device NAME (the\n"
     "                            supervisor's, shared by successive instances)\n"
     "  --control-fd N            an inherited stream socket to a supervisor, carrying\n"
     "                            typed messages (runtime/control.h): the tender says\n"
     "                            READY when the guest first waits for events, answers\n"
     "                            PING N with PONG N, and on DRAIN stops accepting and\n"
     "                            ends once its accepted streams are closed\n"
     "  --tls-cert CHAIN          an image with the tls module: its certificate chain\n"
     "                            (PEM, the server's first) and, with --tls-key KEY, its\n"
     "                            private key (PEM), checked to match and be valid now;\n"
     "                            the guest takes them once at start, then the tender\n"
     "                            erases its copy\n"
     "  --tls-fd N                an inherited descriptor holding the same credentials in\n"
     "                            their binary form (contract/tls_creds.h; the supervisor's)\n"
     "  --mem MIB                 guest memory (default 256)\n"
     "  --streams N               most connections open at once (default 4096); beyond\n"
     "                            it new connections are closed at once\n"
     "  --quiet, -q               no listening or policy reports on stderr\n"
     "  -- ARGS                   boot arguments, passed to the guest's libos_main\n\n"
     "BLOB, CHAIN or KEY '-' reads standard input (one of them at most; bounded as a file\n"
     "is). IMAGE cannot be '-': it is mapped, not read.\n"},
    {"build", builder_cmd_build,
     "TOPOLOGY|- --node=NODE [--level=LEVEL] [--target=hvt|spt] [--policy-dir=DIR]\n"
     "             [--policy-version=N] [--cache=DIR] [-j JOBS] -o DIR",
     "build a node's unikernel images from the topology",
     "Derives NODE's modules and configuration at LEVEL (default: every level it declares)\n"
     "for the target (default: hvt) and builds each image into DIR/ID/ (image, manifest.json,\n"
     "build.log), ID being the hash of everything that went into it: the same inputs give the\n"
     "same bytes, and an image already in DIR is not built again. Objects are cached per\n"
     "target in --cache DIR (default: $UNISEC_CACHE_DIR, else ~/.cache/unisec). An internal\n"
     "PDP links in the node's policy compiled from --policy-dir (default: the directory\n"
     "'policy' beside TOPOLOGY; for - , the one in the working directory) with\n"
     "--policy-version (default 0). -j (--jobs) runs 1 to 256 compilers at once (default: one\n"
     "per CPU); -o is also --output. Guest sources are read from $UNISEC_SOURCE_DIR, else\n"
     "the installed DATADIR/unisec (builder/README.md), and compiled with gcc and ar\n"
     "(binutils). Prints one line per image: NODE LEVEL TARGET ID built|cached SIZE bytes PATH.\n"},
    {"pdp", orch_cmd_pdp, "POLICYDIR --listen=[HOST:]PORT [--policy-version=N]",
     "serve access decisions to unikernels with a pull PDP",
     "Compiles POLICYDIR (every policy, groups and credentials) as policy version N (default\n"
     "1) and answers the queries of acl_pep modules in pull mode on the TCP address (HOST\n"
     "defaults to 127.0.0.1; `unisec run IMAGE --upstream pdp=HOST:PORT` points an image at\n"
     "it): each query's credential is checked against the salted hashes, then the request\n"
     "is decided. SIGHUP reloads POLICYDIR as the next version and tells every connected\n"
     "guest to drop its cached decisions; stderr says when every guest has acknowledged.\n"
     "Runs until killed. --version N is the old spelling of --policy-version N, accepted\n"
     "until the next release.\n",
     .old_version = 1},
    {"verify", orch_cmd_verify, "--store=STORE [--cache=DIR]",
     "check that a store's history proves itself: signatures, deployments, images",
     "Walks main, oldest first, then each host's deployment records (refs/unisec/deployed/\n"
     "HOST, oldest first). Every commit must be signed by an allowed signer (git's\n"
     "gpg.ssh.allowedSignersFile in STORE's configuration; fs/MOUNT.md, Signed history).\n"
     "Every deployment record (a commit of a host's ref; on main, as older stores made them,\n"
     "a commit that changes state/deployed) must realise a commit of main's history, and the\n"
     "image it records for its node must be the one that commit builds: the image is built\n"
     "again from that commit's files (into a temporary directory; objects cached in --cache\n"
     "DIR as for `unisec build`) and must have the recorded id and the bytes of the image\n"
     "kept in STORE/.git/unisec-images. Prints a line per record.\n"
     "Exits 1 naming the first commit or record that does not hold, and why.\n"},
    {"hook", fs_cmd_hook,
     "pre-receive [--target=hvt|spt] | install [--target=hvt|spt] [--force] REPO",
     "refuse, on a store's remote, a push that a mount would refuse",
     "`unisec hook install REPO` writes REPO's hooks/pre-receive (REPO: the bare repository\n"
     "that operators and hosts push to), which runs `unisec hook pre-receive` by this\n"
     "program's absolute path; an existing hook it did not write is kept unless --force.\n"
     "`unisec hook pre-receive` reads git's `OLD NEW REF` lines on standard input and\n"
     "refuses the whole push (exit 1, every reason as FILE:LINE:COL: error: MESSAGE, which\n"
     "git shows the pusher as `remote: ...`) when:\n"
     "  refs/heads/main   is deleted, changes state/deployed (records go on the hosts' refs),\n"
     "                    or its new tree is not what a mount accepts (topology,\n"
     "                    state, policy files together, on --target, default hvt), holds a\n"
     "                    symbolic link, a submodule, or passes the bounds (4096 entries,\n"
     "                    16 levels, topology.yaml 4 MiB, other files 64 MiB); with\n"
     "                    unisec.signedOnly set in REPO, when a new commit is not signed\n"
     "                    by an allowed signer\n"
     "  refs/unisec/deployed/HOST  is deleted or rewritten (records only grow), or a new\n"
     "                    commit is not a deployment record (one parent, only\n"
     "                    state/deployed, trailers naming a commit of main) or, with\n"
     "                    unisec.signedOnly, not signed by an allowed signer\n"
     "  refs/unisec/...   anything else there\n"
     "Other branches and tags are taken as they are: nothing applies them.\n"},
};

#define UNISEC_NCMDS (sizeof(unisec_cmds) / sizeof(unisec_cmds[0]))

static void unisec_usage(FILE *out)
{
    fprintf(out, "usage: unisec COMMAND [ARGS...]\n\n"
                 "unisec: software-defined security for unikernel clouds.\n\ncommands:\n");
    for (size_t i = 0; i < UNISEC_NCMDS; i++)
        fprintf(out, "  %-10s %s\n", unisec_cmds[i].name, unisec_cmds[i].summary);
    fprintf(out,
            "\nRun `unisec COMMAND --help` for the arguments of one command, `unisec --version`\n"
            "for the version; man unisec (and unisec-COMMAND) is the reference.\n");
}

/* Does ARGV (a command's) ask for its help (--help, -h) or, with VERSION, for the program's
 * version? Options end at "--". A command whose old spelling `--version N` took a number
 * keeps it: `--version` followed by a number is not the question. */
static int unisec_wants(int argc, char **argv, int version, int old_version)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return 0;
        if (!version && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
            return 1;
        if (version && strcmp(a, "--version") == 0 &&
            !(old_version && i + 1 < argc && strspn(argv[i + 1], "0123456789") > 0 &&
              argv[i + 1][strspn(argv[i + 1], "0123456789")] == '\0'))
            return 1;
    }
    return 0;
}

static int unisec_version(void)
{
    printf("unisec %s\n", UNISEC_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    /* The mount helper form: mount(8) runs /sbin/mount.unisec, mount.fuse3 runs
     * `unisec STORE MOUNTPOINT -o OPTIONS` for type fuse.unisec (an absolute STORE). */
    if (strcmp(argv[0], FS_TOUCH_ARGV0) == 0) /* the mount's own helper process */
        return fs_touch_main(argc, argv);
    if (strcmp(basename(argv[0]), "mount.unisec") == 0 || (argc >= 3 && argv[1][0] == '/'))
        return fs_cmd_mount_helper(argc, argv);
    if (argc < 2) {
        unisec_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        unisec_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
        return unisec_version();
    for (size_t i = 0; i < UNISEC_NCMDS; i++) {
        const struct unisec_cmd *c = &unisec_cmds[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        if (unisec_wants(argc - 1, argv + 1, 0, 0)) {
            printf("usage: unisec %s %s\n\n%s.\n\n%s", c->name, c->args, c->summary, c->help);
            return 0;
        }
        if (unisec_wants(argc - 1, argv + 1, 1, c->old_version))
            return unisec_version();
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "unisec: unknown command '%s'\n\n", argv[1]);
    unisec_usage(stderr);
    return 2;
}

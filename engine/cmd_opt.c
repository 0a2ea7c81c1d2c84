/* cmd_opt.c — the option parser every subcommand shares (cmd.h). */
#include "cmd.h"
#include "read.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int engine_cmd_usage(const struct engine_cmd *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", c->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\nTry '%s --help' for more.\n", c->usage, c->name);
    return ENGINE_CMD_USAGE;
}

int engine_cmd_next(struct engine_cmd *c, int argc, char **argv)
{
    int r;

    if (c->opts_[0] == '\0') {
        /* ':' first (after a '-' or '+') makes a missing value ':' instead of '?', and
         * keeps getopt quiet: the messages are ours. optind 0 resets glibc's whole scan. */
        const char *s = c->shorts != NULL ? c->shorts : "";
        int order = s[0] == '-' || s[0] == '+';
        snprintf(c->opts_, sizeof(c->opts_), "%.*s:%s", order, s, s + order);
        optind = 0;
    }
    opterr = 0;
    r = getopt_long(argc, argv, c->opts_, c->longs, NULL);
    if (r != '?' && r != ':')
        return r;
    /* What was wrong, named as the user wrote it. glibc advances optind past a long option
     * it reports; a short one is known by optopt. */
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    int is_long = strncmp(arg, "--", 2) == 0;
    if (r == ':' && is_long)
        engine_cmd_usage(c, "option '%s' needs a value", arg);
    else if (r == ':')
        engine_cmd_usage(c, "option '-%c' needs a value", optopt);
    else if (is_long && optopt != 0 && strchr(arg, '=') != NULL)
        engine_cmd_usage(c, "option '%.*s' takes no value", (int)(strchr(arg, '=') - arg), arg);
    else if (is_long)
        engine_cmd_usage(c, "unknown option '%s'", arg);
    else
        engine_cmd_usage(c, "unknown option '-%c'", optopt);
    return '?';
}

int engine_cmd_operand(const struct engine_cmd *c, int argc, char **argv, const char *what,
                       const char **out)
{
    *out = optind < argc ? argv[optind] : NULL;
    if (optind + 1 < argc)
        return engine_cmd_usage(c, "one %s at a time ('%s' is a second)", what, argv[optind + 1]);
    return 0;
}

int engine_cmd_u64(const struct engine_cmd *c, const char *opt, const char *s, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    unsigned long long v = 0;
    char *end = NULL;

    errno = 0;
    if (s[0] >= '0' && s[0] <= '9')
        v = strtoull(s, &end, 10);
    if (end == NULL || *end != '\0' || errno != 0 || v < min || v > max) {
        engine_cmd_usage(c, "%s '%s': expected a whole number from %" PRIu64 " to %" PRIu64, opt, s,
                         min, max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

void engine_cmd_alias(const struct engine_cmd *c, const char *old, const char *now)
{
    fprintf(stderr, "%s: note: %s is the old spelling of %s (it goes in the next release)\n",
            c->name, old, now);
}

int engine_cmd_read(const struct engine_cmd *c, const char *path, size_t max, char **buf,
                    size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *shown = is_stdin ? ENGINE_CMD_STDIN_NAME : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int r = 0;

    *buf = NULL;
    *len = 0;
    if (fd < 0)
        r = -errno;
    else if (!is_stdin && fstat(fd, &st) < 0)
        r = -errno;
    else if (!is_stdin && !S_ISREG(st.st_mode))
        r = -EINVAL;
    /* Until end of file, one byte past MAX at most, so that a larger input is seen. */
    else if ((r = engine_read_fd(fd, max, is_stdin ? 65536 : (size_t)st.st_size, buf, len)) == 0 &&
             *len > max) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        r = -EFBIG;
    }
    if (fd >= 0 && !is_stdin)
        close(fd);
    if (r == -EFBIG)
        fprintf(stderr, "%s: %s: larger than %zu bytes\n", c->name, shown, max);
    else if (r == -EINVAL)
        fprintf(stderr, "%s: %s: not a regular file\n", c->name, shown);
    else if (r < 0)
        fprintf(stderr, "%s: %s: %s\n", c->name, shown, strerror(-r));
    return r;
}

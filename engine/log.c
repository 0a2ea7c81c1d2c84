/* log.c — the daemon's log lines and their sink (log.h). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum log_sink { LOG_SINK_STDERR, LOG_SINK_JOURNAL, LOG_SINK_FILE, LOG_SINK_SYSLOG };

static enum log_sink log_sink = LOG_SINK_STDERR;
static int log_sink_checked; /* stderr looked at for the journal */
static char log_path[PATH_MAX];

/* Levels as syslog priorities (the journal's prefix too); an unknown level is info. */
static const struct {
    const char *name;
    int prio;
} log_levels[] = {
    {.name = "error", .prio = LOG_ERR},
    {.name = "warning", .prio = LOG_WARNING},
    {.name = "info", .prio = LOG_INFO},
};

static int log_prio(const char *level)
{
    for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
        if (strcmp(level, log_levels[i].name) == 0)
            return log_levels[i].prio;
    return LOG_INFO;
}

/* Is stderr the journal's stream ($JOURNAL_STREAM is "DEV:INODE" of it)? */
static int log_stderr_is_journal(void)
{
    const char *e = getenv(ENGINE_LOG_JOURNAL_ENV);
    unsigned long long dev, ino;
    struct stat st;
    char tail;

    if (e == NULL || sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

/* "2025-01-31T14:05:09.042+01:00" into BUF. */
static void log_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    long off;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    off = tm.tm_gmtoff / 60;
    snprintf(buf + n, size - n, ".%03ld%c%02ld:%02ld", ts.tv_nsec / 1000000L, off < 0 ? '-' : '+',
             labs(off) / 60, labs(off) % 60);
}

/* One line LINE[0..LEN) of an entry at LEVEL to the sink. */
static void log_line(const char *level, const char *line, size_t len)
{
    char head[64], stack[1024], *buf = stack;
    int hn;

    if (log_sink == LOG_SINK_SYSLOG) {
        syslog(log_prio(level), "%s: %.*s", level, (int)len, line);
        return;
    }
    if (log_sink == LOG_SINK_JOURNAL) {
        hn = snprintf(head, sizeof(head), "<%d>unisec: %s: ", log_prio(level), level);
    } else {
        char ts[48];
        log_time(ts, sizeof(ts));
        hn = snprintf(head, sizeof(head), "%s unisec: %s: ", ts, level);
    }
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return;
    if ((size_t)hn + len + 1 > sizeof(stack) && (buf = malloc((size_t)hn + len + 1)) == NULL)
        return;
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, line, len);
    buf[(size_t)hn + len] = '\n';
    /* One write: lines of concurrent threads stay whole (O_APPEND for a file). */
    if (write(STDERR_FILENO, buf, (size_t)hn + len + 1) < 0) {
        /* nowhere to say it */
    }
    if (buf != stack)
        free(buf);
}

void engine_log(const char *level, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    int n;

    if (!log_sink_checked) {
        /* Racy only in that two threads may both look: they find the same. */
        if (log_sink == LOG_SINK_STDERR && log_stderr_is_journal())
            log_sink = LOG_SINK_JOURNAL;
        log_sink_checked = 1;
    }
    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        log_line(level, "(a message was lost: out of memory)", 35);
        return;
    }
    for (const char *p = msg;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0 || nl == NULL)
            log_line(level, p, len);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    free(msg);
}

/* Opens PATH for appending onto stderr. Async-signal-safe. */
static int log_file_onto_stderr(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (fd != STDERR_FILENO) {
        int r = dup2(fd, STDERR_FILENO) < 0 ? -errno : 0;
        close(fd);
        return r;
    }
    return 0;
}

int engine_log_open(const char *dest)
{
    char path[PATH_MAX];
    int r;

    if (dest == NULL || dest[0] == '\0') {
        log_sink = log_stderr_is_journal() ? LOG_SINK_JOURNAL : LOG_SINK_STDERR;
        log_sink_checked = 1;
        return 0;
    }
    if (strcmp(dest, ENGINE_LOG_SYSLOG) == 0) {
        openlog("unisec", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_sink = LOG_SINK_SYSLOG;
        log_sink_checked = 1;
        return 0;
    }
    /* Absolute, for a reopen after the daemon changed its directory. */
    if (dest[0] == '/') {
        if (strlen(dest) >= sizeof(path))
            return -ENAMETOOLONG;
        memcpy(path, dest, strlen(dest) + 1);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return -errno;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", cwd, dest) >= sizeof(path))
            return -ENAMETOOLONG;
    }
    if ((r = log_file_onto_stderr(path)) < 0)
        return r;
    memcpy(log_path, path, sizeof(path));
    log_sink = LOG_SINK_FILE;
    log_sink_checked = 1;
    return 0;
}

int engine_log_reopen(void)
{
    return log_sink == LOG_SINK_FILE ? log_file_onto_stderr(log_path) : 0;
}

/* test_log.c — the daemon's log lines (engine/log.h): the stamp, one stamped line per line of
 * a message, long lines whole, the journal's prefix, a file reopened after it was moved. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/log.h"

static char dir[] = "/tmp/unisec-test-log-XXXXXX";
static char path[256];

/* The log file's content (static buffer). */
static const char *slurp(const char *p)
{
    static char buf[1 << 16];
    int fd = open(p, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* Every line of TEXT matches RE; returns how many there are. */
static int all_match(const char *text, const char *re)
{
    regex_t rx;
    int n = 0;
    char *copy = strdup(text), *save = NULL;

    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save), n++)
        if (regexec(&rx, l, 0, NULL, 0) != 0)
            fail_msg("a line does not match %s: '%s'", re, l);
    regfree(&rx);
    free(copy);
    return n;
}

#define STAMP                                                                                      \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} "

static void test_file_lines(void **state)
{
    char big[5000];

    (void)state;
    snprintf(path, sizeof(path), "%s/log", dir);
    assert_int_equal(engine_log_open(path), 0);
    engine_log("info", "one %d", 1);
    /* A message of two lines (and a CR): two stamped lines, nothing unstamped. */
    engine_log("error", "first\r\nsecond");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    engine_log("warning", "%s", big);
    const char *t = slurp(path);
    assert_int_equal(all_match(t, STAMP "unisec: (info|error|warning): [a-z0-9 x]+$"), 4);
    assert_non_null(strstr(t, "unisec: info: one 1\n"));
    assert_non_null(strstr(t, "unisec: error: first\n"));
    assert_non_null(strstr(t, "unisec: error: second\n"));
    assert_non_null(strstr(t, big));
}

static void test_reopen(void **state)
{
    char moved[300];

    (void)state;
    snprintf(moved, sizeof(moved), "%s.1", path);
    assert_int_equal(rename(path, moved), 0);
    engine_log("info", "before");
    assert_int_equal(engine_log_reopen(), 0);
    engine_log("info", "after");
    assert_non_null(strstr(slurp(moved), "unisec: info: before\n"));
    assert_null(strstr(slurp(moved), "after"));
    assert_int_equal(all_match(slurp(path), STAMP "unisec: info: after$"), 1);
    /* A path that cannot be opened leaves the sink as it was. */
    assert_int_equal(engine_log_open("/nonexistent/dir/log"), -ENOENT);
    engine_log("info", "still");
    assert_non_null(strstr(slurp(path), "unisec: info: still\n"));
}

static void test_journal(void **state)
{
    char jpath[300], env[64];
    struct stat st;
    int fd;

    (void)state;
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
    assert_true((fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
    assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    close(fd);
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv(ENGINE_LOG_JOURNAL_ENV, env, 1);
    assert_int_equal(engine_log_open(NULL), 0);
    engine_log("info", "to the journal");
    engine_log("error", "bad\nworse");
    engine_log("warning", "careful");
    /* The journal stamps lines itself: a priority prefix instead of the time. */
    assert_int_equal(all_match(slurp(jpath), "^<[346]>unisec: (info|error|warning): [a-z ]+$"), 4);
    assert_non_null(strstr(slurp(jpath), "<3>unisec: error: worse\n"));
    assert_non_null(strstr(slurp(jpath), "<4>unisec: warning: careful\n"));
    /* JOURNAL_STREAM naming another file: stderr is not the journal. */
    setenv(ENGINE_LOG_JOURNAL_ENV, "1:2", 1);
    assert_int_equal(engine_log_open(NULL), 0);
    engine_log("info", "stamped");
    assert_non_null(strstr(slurp(jpath), " unisec: info: stamped\n"));
    unsetenv(ENGINE_LOG_JOURNAL_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_lines),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_journal),
    };
    int saved = dup(STDERR_FILENO), rc;

    if (mkdtemp(dir) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* cmocka reports on stdout; stderr comes back for the shell. */
    dup2(saved, STDERR_FILENO);
    char p[300];
    snprintf(p, sizeof(p), "%s/log", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/log.1", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/journal", dir);
    unlink(p);
    if (rmdir(dir) != 0)
        rc = rc ? rc : 1;
    return rc;
}

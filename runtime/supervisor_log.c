/* supervisor_log.c — what the instances say: the tender's output into the instance's console
 * ring and the node's console log on disk, the guest's access lines (marked "@access ")
 * stamped into the node's access log and counted (runtime/README.md, "Access log"). Runs on
 * the supervisor's thread with the lock held; one write per log per read of a pipe, not per
 * line. */
#include "supervisor_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUP_ACCESS_MARK "@access "

void sup_ring_put(struct sup_ring *r, const char *p, size_t n)
{
    if (r->buf == NULL || r->cap == 0)
        return;
    if (n >= r->cap) {
        memcpy(r->buf, p + n - r->cap, r->cap);
        r->start = 0;
        r->len = r->cap;
        return;
    }
    for (size_t i = 0; i < n; i++)
        r->buf[(r->start + r->len + i) % r->cap] = p[i];
    if (r->len + n > r->cap) {
        r->start = (r->start + r->len + n - r->cap) % r->cap;
        r->len = r->cap;
    } else {
        r->len += n;
    }
}

/* Opens N's logs at its first output; 1 when they are open. */
static int sup_log_open(struct sup *s, struct sup_node *n)
{
    char dir[4096];

    if (n->logs != 0)
        return n->logs > 0;
    n->logs = -1;
    /* Names are [A-Za-z0-9_.-] (sup_name_check): only these two leave the directory. */
    if (s->log_dir == NULL || strcmp(n->name, ".") == 0 || strcmp(n->name, "..") == 0 ||
        (size_t)snprintf(dir, sizeof(dir), "%s/%s", s->log_dir, n->name) >= sizeof(dir))
        return 0;
    if (engine_rlog_open(&n->console_log, dir, "console", s->opt.log_max, s->opt.log_keep) < 0)
        return 0;
    if (engine_rlog_open(&n->access_log, dir, "access", s->opt.log_max, s->opt.log_keep) < 0) {
        engine_rlog_close(&n->console_log);
        return 0;
    }
    n->logs = 1;
    return 1;
}

void sup_log_close(struct sup_node *n)
{
    if (n->logs > 0) {
        engine_rlog_close(&n->console_log);
        engine_rlog_close(&n->access_log);
    }
    n->logs = 0;
}

/* Output gathered for one log during one read, written at once. */
struct sup_batch {
    struct engine_rlog *log; /* NULL: none */
    size_t n;
    char b[8192];
};

static void sup_batch_flush(struct sup_batch *o)
{
    if (o->log != NULL && o->n > 0)
        engine_rlog_write(o->log, o->b, o->n); /* a full disk loses lines, nothing else */
    o->n = 0;
}

static void sup_batch_put(struct sup_batch *o, const char *p, size_t n)
{
    if (o->log == NULL)
        return;
    if (o->n + n > sizeof(o->b))
        sup_batch_flush(o);
    if (n > sizeof(o->b)) {
        engine_rlog_write(o->log, p, n);
        return;
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

/* The rule set named by RULE ("POLICY:LINE", "POLICY:-" or "-"): its counts in T. */
static void sup_count_decision(struct sup_traffic *t, const char *rule, size_t len, int allow)
{
    const char *colon = memrchr(rule, ':', len);
    size_t plen = colon ? (size_t)(colon - rule) : 0, i;

    if (plen == 0 || plen >= sizeof(t->rules[0].policy))
        return;
    for (i = 0; i < t->nrules; i++)
        if (strlen(t->rules[i].policy) == plen && memcmp(t->rules[i].policy, rule, plen) == 0)
            break;
    if (i == t->nrules) {
        if (t->nrules < SUP_RULESETS_MAX) {
            memcpy(t->rules[i].policy, rule, plen);
            t->rules[i].policy[plen] = '\0';
        } else {
            i = SUP_RULESETS_MAX; /* "" gathers the others */
        }
        if (t->nrules < SUP_RULESETS_MAX + 1 && i == t->nrules)
            t->nrules++;
    }
    if (allow)
        t->rules[i].allow++;
    else
        t->rules[i].deny++;
}

/* Counts access line L[0..LEN) ("PEER USER "METHOD PATH" STATUS BYTES DECISION RULE"), read
 * from its end: what the client sent cannot hold a blank (the guest escapes it). */
static void sup_count_access(struct sup_traffic *t, const char *l, size_t len)
{
    const char *f[4];
    size_t fl[4], end = len;

    for (int k = 3; k >= 0; k--) {
        const char *sp = memrchr(l, ' ', end);
        if (sp == NULL)
            return;
        f[k] = sp + 1;
        fl[k] = end - (size_t)(sp + 1 - l);
        end = (size_t)(sp - l);
    }
    int status = fl[0] == 3 ? atoi(f[0]) : 0; /* "200 " ends the field: atoi stops there */
    t->requests[status >= 100 && status < 600 ? status / 100 : 0]++;
    t->bytes += strtoull(f[1], NULL, 10);
    if (fl[2] == 5 && memcmp(f[2], "allow", 5) == 0)
        sup_count_decision(t, f[3], fl[3], 1);
    else if (fl[2] == 4 && memcmp(f[2], "deny", 4) == 0)
        sup_count_decision(t, f[3], fl[3], 0);
}

/* "2026-11-24T01:02:03.456Z " into BUF (32 bytes). */
static size_t sup_stamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)snprintf(buf + n, size - n, ".%03ldZ ", ts.tv_nsec / 1000000);
}

/* One whole line of the guest's console (L[0..LEN), its newline included when it has one). */
static void sup_log_line(struct sup_node *n, struct sup_inst *in, struct sup_batch *con,
                         struct sup_batch *acc, const char *l, size_t len)
{
    size_t mark = sizeof(SUP_ACCESS_MARK) - 1;

    if (len > mark && memcmp(l, SUP_ACCESS_MARK, mark) == 0 && l[len - 1] == '\n') {
        char ts[40];
        l += mark, len -= mark;
        sup_count_access(&n->traffic, l, len - 1);
        if (acc->log != NULL) {
            size_t tl = sup_stamp(ts, sizeof(ts));
            sup_batch_put(acc, ts, tl);
            sup_batch_put(acc, l, len);
        }
    }
    sup_ring_put(&in->console, l, len);
    sup_batch_put(con, l, len);
}

void sup_log_output(struct sup *s, struct sup_inst *in, int kind, const char *buf, size_t len)
{
    struct sup_node *n = in->node;
    int disk = n != NULL && sup_log_open(s, n);
    struct sup_batch *con = malloc(sizeof(*con)), *acc = malloc(sizeof(*acc));

    if (con == NULL || acc == NULL) {
        free(con), free(acc);
        sup_ring_put(&in->console, buf, len);
        return;
    }
    con->n = acc->n = 0;
    con->log = disk ? &n->console_log : NULL;
    acc->log = disk ? &n->access_log : NULL;
    if (kind != SUP_W_OUT || n == NULL) {
        /* The tender's own messages: to the console as they come. */
        sup_ring_put(&in->console, buf, len);
        sup_batch_put(con, buf, len);
    } else {
        for (size_t i = 0; i < len;) {
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t take = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
            size_t room = sizeof(in->out_line) - in->out_have;
            if (take > room)
                take = room;
            memcpy(in->out_line + in->out_have, buf + i, take);
            in->out_have += take;
            i += take;
            /* A whole line, or one too long to gather: it goes as it is. */
            if (in->out_line[in->out_have - 1] == '\n' || in->out_have == sizeof(in->out_line)) {
                sup_log_line(n, in, con, acc, in->out_line, in->out_have);
                in->out_have = 0;
            }
        }
    }
    sup_batch_flush(con);
    sup_batch_flush(acc);
    free(con);
    free(acc);
}

void sup_log_mark(struct sup *s, struct sup_node *n, const char *fmt, ...)
{
    char line[640];
    size_t k;
    va_list ap;

    if (!sup_log_open(s, n))
        return;
    memcpy(line, "--- ", 4);
    k = 4 + sup_stamp(line + 4, sizeof(line) - 4);
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof(line) - k - 1, fmt, ap);
    va_end(ap);
    k = strlen(line);
    line[k++] = '\n';
    engine_rlog_write(&n->console_log, line, k);
}

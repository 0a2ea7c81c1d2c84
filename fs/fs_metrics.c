/* fs_metrics.c — the mount's `metrics` file: what the mount and the orchestrator did since the
 * mount began, in Prometheus' text exposition format (version 0.0.4), read like any file
 * (`cat metrics`, or a node exporter's textfile collector). Counts are kept where each event
 * happens: fs_apply.c (commits, refusals), orch/ (builds, instances, pushes). */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs_int.h"
#include "orch/orch.h"

static const char *const fs_source_name[FS_SRC_N] = {
    [FS_SRC_MOUNT] = "mount",
    [FS_SRC_WORKTREE] = "worktree",
    [FS_SRC_EXTERNAL] = "external",
    [FS_SRC_DEPLOY] = "deploy",
};

static void fs_metric_head(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void fs_metric_counter(FILE *out, const char *name, const char *help, uint64_t v)
{
    fs_metric_head(out, name, "counter", help);
    fprintf(out, "%s %" PRIu64 "\n", name, v);
}

static void fs_metric_by_source(FILE *out, const char *name, const char *help, const uint64_t *v,
                                size_t n)
{
    fs_metric_head(out, name, "counter", help);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s{source=\"%s\"} %" PRIu64 "\n", name, fs_source_name[i],
                __atomic_load_n(&v[i], __ATOMIC_RELAXED));
}

static void fs_metric_hist(FILE *out, const char *name, const char *help, const struct orch_hist *h)
{
    fs_metric_head(out, name, "histogram", help);
    for (size_t i = 0; i < ORCH_HIST_N; i++)
        fprintf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, orch_hist_bounds[i], h->le[i]);
    fprintf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
            h->count, name, h->sum, name, h->count);
}

/* Where the CPU time of the mount's writes went: the daemon's own steps, and the store's steps
 * of every commit (the mount's, and the outside changes' it takes in). */
static void fs_metrics_write_cpu(FILE *out, const struct fs_ctx *c)
{
    static const char *const step[FS_WRITE_STEP_N] = {
        [FS_WRITE_VALIDATE] = "validate", [FS_WRITE_COMMIT] = "commit", [FS_WRITE_SERVE] = "serve"};
    uint64_t st[ENGINE_STORE_STEP_N];

    fs_metric_head(out, "unisec_write_cpu_seconds_total", "counter",
                   "CPU time (user and system) of the writes through the mount, by step.");
    for (int i = 0; i < FS_WRITE_STEP_N; i++)
        fprintf(out, "unisec_write_cpu_seconds_total{step=\"%s\"} %.6f\n", step[i],
                (double)__atomic_load_n(&c->write_cpu[i], __ATOMIC_RELAXED) / 1e9);
    engine_store_step_cpu(c->store, st);
    fs_metric_head(out, "unisec_store_commit_cpu_seconds_total", "counter",
                   "CPU time (user and system) of the store's commits, by step.");
    for (int i = 0; i < ENGINE_STORE_STEP_N; i++)
        fprintf(out, "unisec_store_commit_cpu_seconds_total{step=\"%s\"} %.6f\n",
                engine_store_step_name((enum engine_store_step)i), (double)st[i] / 1e9);
    fs_metric_head(out, "unisec_store_sync_failures_total", "counter",
                   "Deferred syncs of the store's work tree that failed (each is tried again).");
    fprintf(out, "unisec_store_sync_failures_total %" PRIu64 "\n",
            engine_store_sync_failures(c->store));
}

/* V as a label value: backslash, quote and newline escaped, as the format has it. */
static void fs_metric_label(FILE *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', out);
        if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}

/* One family of a counter per node: NAME{node="..."} with each node's value at OFFSET. */
static void fs_metric_per_node(FILE *out, const char *name, const char *type, const char *help,
                               const struct orch_node_metrics *m, size_t n, size_t offset)
{
    fs_metric_head(out, name, type, help);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s{node=\"", name);
        fs_metric_label(out, m[i].node);
        fprintf(out, "\"} %" PRIu64 "\n", *(const uint64_t *)((const char *)&m[i] + offset));
    }
}

/* What each node did: its requests by status class, its decisions by rule set, its restarts
 * and the pushes to it. */
static void fs_metrics_nodes(FILE *out, struct orch *o)
{
    static const char *const code[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    struct orch_node_metrics *m = NULL;
    size_t n = 0;

    if (o != NULL && orch_metrics_nodes(o, &m, &n) < 0)
        return;
    fs_metric_head(out, "unisec_node_requests_total", "counter",
                   "Requests a node's instances answered, by status class (their access log).");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) {
            fputs("unisec_node_requests_total{node=\"", out);
            fs_metric_label(out, m[i].node);
            fprintf(out, "\",code=\"%s\"} %" PRIu64 "\n", code[k], m[i].requests[k]);
        }
    fs_metric_per_node(out, "unisec_node_response_bytes_total", "counter",
                       "Bytes of the answers a node's instances sent.", m, n,
                       offsetof(struct orch_node_metrics, bytes));
    fs_metric_head(
        out, "unisec_node_decisions_total", "counter",
        "Access decisions of a node's instances, by rule set (policy=\"\": the others).");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < m[i].nrules; k++)
            for (int allow = 1; allow >= 0; allow--) {
                fputs("unisec_node_decisions_total{node=\"", out);
                fs_metric_label(out, m[i].node);
                fputs("\",policy=\"", out);
                fs_metric_label(out, m[i].rules[k].policy);
                fprintf(out, "\",decision=\"%s\"} %" PRIu64 "\n", allow ? "allow" : "deny",
                        allow ? m[i].rules[k].allow : m[i].rules[k].deny);
            }
    fs_metric_head(out, "unisec_node_restarts_total", "counter",
                   "A node's instances restarted after a crash or a hang.");
    for (size_t i = 0; i < n; i++) {
        fputs("unisec_node_restarts_total{node=\"", out);
        fs_metric_label(out, m[i].node);
        fprintf(out, "\"} %u\n", m[i].restarts);
    }
    fs_metric_per_node(out, "unisec_node_policy_pushes_total", "counter",
                       "Policy blobs pushed to a node's running instance.", m, n,
                       offsetof(struct orch_node_metrics, pushes));
    fs_metric_per_node(out, "unisec_node_policy_push_failures_total", "counter",
                       "Pushes to a node refused or not acknowledged in time.", m, n,
                       offsetof(struct orch_node_metrics, pushes_failed));
    fs_metric_head(out, "unisec_node_policy_ack_seconds", "summary",
                   "Time from a push to a node's acknowledgement.");
    for (size_t i = 0; i < n; i++) {
        fputs("unisec_node_policy_ack_seconds_sum{node=\"", out);
        fs_metric_label(out, m[i].node);
        fprintf(out, "\"} %.6f\nunisec_node_policy_ack_seconds_count{node=\"", m[i].push_seconds);
        fs_metric_label(out, m[i].node);
        fprintf(out, "\"} %" PRIu64 "\n", m[i].pushes_acked);
    }
    free(m);
}

int fs_gen_metrics(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out)
{
    static const char *const kind[ORCH_BUILD_KINDS] = {
        [ORCH_BUILD_CHANGE] = "change", [ORCH_BUILD_PROACTIVE] = "proactive"};
    struct orch_metrics m = {0};

    (void)s, (void)w;
    fs_metric_head(out, "unisec_start_time_seconds", "gauge", "When the mount began (Unix time).");
    fprintf(out, "unisec_start_time_seconds %lld\n", (long long)c->started.tv_sec);
    fs_metric_by_source(out, "unisec_commits_total", "Commits made in the store, by source.",
                        c->commits, FS_SRC_N);
    fs_metric_by_source(out, "unisec_refusals_total",
                        "Changes refused (invalid, too large, not allowed), by source.",
                        c->refusals, FS_SRC_DEPLOY);
    fs_metrics_write_cpu(out, c);
    fs_metric_head(out, "unisec_store_looks_total", "counter",
                   "The watcher's looks at the store: after its files changed, git's status of "
                   "the work tree asked, or not (the changes were the mount's own); at the end "
                   "of an idle period or a grace.");
    fprintf(out,
            "unisec_store_looks_total{reason=\"events\",status=\"asked\"} %" PRIu64 "\n"
            "unisec_store_looks_total{reason=\"events\",status=\"skipped\"} %" PRIu64 "\n"
            "unisec_store_looks_total{reason=\"timer\",status=\"asked\"} %" PRIu64 "\n",
            c->looks[FS_LOOK_ASKED], c->looks[FS_LOOK_SKIPPED], c->looks[FS_LOOK_TIMER]);
    if (c->orch != NULL)
        orch_metrics(c->orch, &m);
    fs_metric_head(out, "unisec_builds_total", "counter",
                   "Images compiled (found built: not counted), by why and outcome.");
    for (int k = 0; k < ORCH_BUILD_KINDS; k++)
        fprintf(out,
                "unisec_builds_total{kind=\"%s\",result=\"ok\"} %" PRIu64 "\n"
                "unisec_builds_total{kind=\"%s\",result=\"failed\"} %" PRIu64 "\n",
                kind[k], m.builds[k], kind[k], m.builds_failed[k]);
    fs_metric_hist(out, "unisec_build_duration_seconds",
                   "Time to compile one image a change needed.", &m.build_seconds);
    fs_metric_counter(out, "unisec_instance_starts_total",
                      "First instances of a node that became ready.", m.starts);
    fs_metric_counter(out, "unisec_swaps_total",
                      "New instances swapped in for a running one (a new image).", m.swaps);
    fs_metric_counter(out, "unisec_instance_start_failures_total",
                      "Instances that never became ready (the old one kept serving).",
                      m.start_failures);
    fs_metric_counter(out, "unisec_instance_restarts_total",
                      "Instances restarted after a crash or a hang.", m.restarts);
    fs_metric_counter(out, "unisec_policy_pushes_total",
                      "Policy blobs pushed to a running push-mode instance.", m.pushes);
    fs_metric_counter(out, "unisec_policy_push_failures_total",
                      "Pushes refused by the instance or not acknowledged in time.",
                      m.pushes_failed);
    fs_metric_hist(out, "unisec_policy_ack_seconds",
                   "Time from a push to the instance's acknowledgement.", &m.push_seconds);
    fs_metric_head(out, "unisec_policy_bases_total", "counter",
                   "Policy bases compiled whole, by where: a change's write, or a thread of "
                   "their own.");
    fprintf(out,
            "unisec_policy_bases_total{where=\"write\"} %" PRIu64 "\n"
            "unisec_policy_bases_total{where=\"side\"} %" PRIu64 "\n",
            m.bases_write, m.bases_side);
    fs_metric_counter(out, "unisec_policy_bases_delivered_total",
                      "New bases delivered once ready, as a policy version of their own.",
                      m.bases_delivered);
    fs_metrics_nodes(out, c->orch);
#ifdef __GLIBC__
    /* What the allocator handed out and did not get back, every arena: unlike the resident
     * size, it does not move with what glibc keeps of freed memory, so a steady climb is a
     * leak (tests/attack/memory.sh reads it). */
    struct mallinfo2 mi = mallinfo2();
    fs_metric_head(out, "unisec_heap_inuse_bytes", "gauge",
                   "Bytes the daemon's allocator has handed out and not had back.");
    fprintf(out, "unisec_heap_inuse_bytes %zu\n", mi.uordblks + mi.hblkhd);
#endif
    return ferror(out) ? -ENOMEM : 0;
}

/* fs_metrics.c — the mount's `metrics` file: what the mount and the orchestrator did since the
 * mount began, in Prometheus' text exposition format (version 0.0.4), read like any file
 * (`cat metrics`, or a node exporter's textfile collector). Counts are kept where each event
 * happens: fs_apply.c (commits, refusals), orch/ (builds, instances, pushes). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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
    return ferror(out) ? -ENOMEM : 0;
}

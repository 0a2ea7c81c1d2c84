/* orch_status.c — what the orchestrator tells of the nodes: each node's status (text, JSON), the
 * image it runs, and `settle`. */
#include "orch_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/json.h"

static void orch_time(char *buf, size_t size, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* mu held. The node's state word: what a user should read first. */
static const char *orch_state_word(const struct orch_node *n)
{
    if (n->building && (!n->have_sup || n->sup.state == SUP_STOPPED))
        return "building";
    if (n->error[0] && (!n->have_sup || n->sup.state != SUP_RUNNING))
        return "failed";
    if (!n->have_sup)
        return "pending";
    return sup_state_name(n->sup.state);
}

/* mu held. Where NODE runs, when the topology places it on a host: " on host NAME (ADDRESS)". */
static void orch_status_host(const struct orch *o, const char *node, FILE *out)
{
    const struct orch_place *pl = orch_want_place(o->want, node);
    if (pl != NULL)
        fprintf(out, " on host %s (%s)", pl->host, pl->address ? pl->address : "no address");
}

static void orch_status_line(const struct orch *o, const struct orch_node *n, FILE *out)
{
    char since[32];

    fprintf(out, "%s", orch_state_word(n));
    if (n->have_sup && n->sup.image[0]) {
        orch_time(since, sizeof(since), n->sup.since_ns);
        fprintf(out, " image %.12s level %s", n->sup.image, n->sup.level);
        if (n->pdp != ENGINE_PDP_NONE && n->image[0])
            fprintf(out, " pdp %s", engine_pdp_name(n->pdp));
        if (n->pdp == ENGINE_PDP_PUSH)
            fprintf(out, " policy v%" PRIu64 " acked", n->sup.policy_version);
        else if (n->pdp != ENGINE_PDP_NONE && n->version)
            fprintf(out, " policy v%" PRIu64, n->version);
        if (n->sup.pid)
            fprintf(out, " pid %d", (int)n->sup.pid);
        fprintf(out, " since %s", since);
    }
    if (n->building)
        fprintf(out, " (building level %s)", n->building_level);
    if (n->error[0])
        fprintf(out, "; last change failed: %s", n->error);
    else if (n->have_sup && n->sup.state != SUP_RUNNING && n->sup.why[0])
        fprintf(out, ": %s", n->sup.why);
    orch_status_host(o, n->name, out);
    fputc('\n', out);
}

int orch_status(struct orch *o, const char *node, FILE *out)
{
    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    const struct orch_place *pl = orch_want_place(o->want, node);
    if (pl != NULL && !pl->here) {
        /* Another daemon runs it; a node this daemon ran before is being stopped. */
        fprintf(out, "not on this host: runs");
        orch_status_host(o, node, out);
        fputc('\n', out);
    } else if (n != NULL)
        orch_status_line(o, n, out);
    else if (o->want != NULL && orch_want_node(o->want, node) != NULL) {
        fprintf(out, "pending");
        orch_status_host(o, node, out);
        fputc('\n', out);
    }
    pthread_mutex_unlock(&o->mu);
    return n != NULL || (o->want != NULL) ? 0 : -ENOENT;
}

/* mu held. NODE's status as a JSON object (NULL when out of memory). */
static json_t *orch_status_obj(struct orch *o, const char *node)
{
    char since[32] = "";
    const struct orch_node *n = orch_node_get(o, node, 0);
    const struct orch_place *pl = orch_want_place(o->want, node);
    json_t *j, *host = pl ? json_pack("{s:s, s:s?}", "name", pl->host, "address", pl->address)
                          : json_null();

    if (n == NULL || (pl != NULL && !pl->here)) {
        const char *state = pl != NULL && !pl->here ? "elsewhere" : "pending";
        return json_pack("{s:s, s:s, s:o*}", "node", node, "state", state, "host", host);
    }
    if (n->have_sup && n->sup.since_ns)
        orch_time(since, sizeof(since), n->sup.since_ns);
    j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:I, s:I, s:i, s:s?, s:s?, s:s?, s:b}", "node",
                  n->name, "state", orch_state_word(n), "image",
                  n->have_sup && n->sup.image[0] ? n->sup.image : NULL, "level",
                  n->have_sup && n->sup.level[0] ? n->sup.level : NULL, "pdp",
                  engine_pdp_name(n->pdp), "policy", n->policy[0] ? n->policy : NULL,
                  "policy_version", (json_int_t)n->version, "policy_version_acked",
                  (json_int_t)(n->have_sup ? n->sup.policy_version : 0), "pid",
                  n->have_sup ? (int)n->sup.pid : 0, "since", since[0] ? since : NULL, "why",
                  n->have_sup && n->sup.why[0] ? n->sup.why : NULL, "error",
                  n->error[0] ? n->error : NULL, "building", n->building);
    if (host != NULL && j != NULL)
        json_object_set_new(j, "host", host);
    else
        json_decref(host);
    return j;
}

/* J as indented JSON into OUT; J is released. */
static int orch_json_out(json_t *j, FILE *out)
{
    char *s;
    int r = engine_json_dumps(&s, NULL, j, JSON_INDENT(2));

    json_decref(j);
    if (r < 0)
        return r;
    fputs(s, out);
    free(s);
    return 0;
}

int orch_status_json(struct orch *o, const char *node, FILE *out)
{
    pthread_mutex_lock(&o->mu);
    json_t *j = orch_status_obj(o, node);
    pthread_mutex_unlock(&o->mu);
    return orch_json_out(j, out);
}

int orch_node_image(struct orch *o, const char *node, char id[41])
{
    int r = -ENOENT;

    pthread_mutex_lock(&o->mu);
    const struct orch_node *n = orch_node_get(o, node, 0);
    if (n != NULL && n->have_sup && n->sup.image[0] && strlen(n->sup.image) == BUILDER_ID_LEN) {
        memcpy(id, n->sup.image, BUILDER_ID_LEN + 1);
        r = 0;
    }
    pthread_mutex_unlock(&o->mu);
    return r;
}

/* Takes mu and waits until the last want has converged (see orch_settle()); returns with mu
 * held: the number of its nodes that failed, or -EINTR when O is stopping. */
static long orch_settle_wait(struct orch *o)
{
    long failed = 0;

    pthread_mutex_lock(&o->mu);
    /* Converged: the last want is realised and the images of its other levels are built. */
    while (!o->stop && (o->want == NULL || o->done_gen != o->gen || o->pro_gen != o->gen))
        pthread_cond_wait(&o->settle_cv, &o->mu);
    if (o->stop)
        return -EINTR;
    for (size_t i = 0; i < o->want->nnodes; i++) {
        const struct orch_node *n = orch_node_get(o, o->want->nodes[i].name, 0);
        if (n == NULL || n->error[0] || !n->have_sup || n->sup.state != SUP_RUNNING)
            failed++;
    }
    return failed;
}

int orch_settle(struct orch *o, FILE *out)
{
    long failed = orch_settle_wait(o);

    if (failed < 0) {
        pthread_mutex_unlock(&o->mu);
        fprintf(out, "stopping: not settled\n");
        return -EINTR;
    }
    if (failed)
        fprintf(out, "settled at %.12s: %ld of %zu nodes failed\n", o->want->head, failed,
                o->want->nnodes);
    else
        fprintf(out, "settled at %.12s: %zu nodes run what is desired\n", o->want->head,
                o->want->nnodes);
    for (size_t i = 0; i < o->want->nnodes; i++) {
        const struct orch_node *n = orch_node_get(o, o->want->nodes[i].name, 0);
        fprintf(out, "%s: ", o->want->nodes[i].name);
        if (n != NULL)
            orch_status_line(o, n, out);
        else
            fprintf(out, "pending\n");
    }
    pthread_mutex_unlock(&o->mu);
    return failed ? -EIO : 0;
}

int orch_settle_json(struct orch *o, FILE *out)
{
    long failed = orch_settle_wait(o);
    json_t *j, *nodes = NULL;
    int r;

    if (failed < 0) {
        pthread_mutex_unlock(&o->mu);
        fprintf(out, "{\"settled\": false, \"why\": \"stopping\"}\n");
        return -EINTR;
    }
    if ((nodes = json_array()) != NULL)
        for (size_t i = 0; i < o->want->nnodes; i++)
            if (json_array_append_new(nodes, orch_status_obj(o, o->want->nodes[i].name)) < 0) {
                json_decref(nodes);
                nodes = NULL;
                break;
            }
    j = json_pack("{s:s, s:b, s:I, s:I, s:o}", "commit", o->want->head, "settled", 1, "nodes",
                  (json_int_t)o->want->nnodes, "failed", (json_int_t)failed, "status", nodes);
    pthread_mutex_unlock(&o->mu);
    if ((r = orch_json_out(j, out)) < 0)
        return r;
    return failed ? -EIO : 0;
}

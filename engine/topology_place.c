/* topology_place.c — placement in TOSCA's terms (TOPOLOGY.md section 1.10): hosts are
 * tosca.nodes.Compute node templates with an address (their attribute private_address), a
 * unikernel node names its host with the normative `host` requirement (HostedOn), and no two
 * nodes listen on the same address and port. */
#include "topology_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology_derive.h"

#define TOPO_COMPUTE "tosca.nodes.Compute"

static int topo_is_host(const struct engine_topology *t, const struct topo_node *n)
{
    return n->tdef >= 0 && !n->runs && topo_tdef_is_a(t, n->tdef, TOPO_COMPUTE);
}

static int topo_address_valid(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The relationship of a host requirement, when the topology names a type, is HostedOn or
 * derives from it (a relationship template is taken as written). */
static int topo_hosted_on(const struct engine_topology *t, const char *rel)
{
    int i;
    if (rel == NULL || (i = topo_tdef_find(t, TOPO_K_RELATIONSHIP, rel)) < 0)
        return 1;
    return topo_tdef_is_a(t, i, "tosca.relationships.HostedOn");
}

static int topo_place_node(struct engine_topology *t, struct topo_node *n, size_t nhosts,
                           char *reported, struct engine_diag *d)
{
    const struct topo_nreq *r = NULL;
    struct topo_node *h;
    int target;

    for (size_t j = 0; j < n->nreqs && r == NULL; j++)
        if (strcmp(n->reqs[j].name, "host") == 0)
            r = &n->reqs[j];
    if (r == NULL)
        return nhosts == 0
                   ? 0
                   : topo_diag_at(d, &n->pos,
                                  "node %s is placed on no host, and the topology "
                                  "declares %zu host%s; expected a requirement 'host: HOST' "
                                  "naming a " TOPO_COMPUTE " node template",
                                  n->name, nhosts, nhosts == 1 ? "" : "s");
    if (r->abstract || (target = topo_node_find(t, r->node)) < 0)
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement host: expected a " TOPO_COMPUTE
                            " node template of node_templates (unisec does not select hosts)",
                            n->name);
    h = &t->nodes[target];
    if (!topo_is_host(t, h))
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement host: node %s is a %s, not a " TOPO_COMPUTE
                            "; expected a Compute node template (a host)",
                            n->name, h->name, h->pub.type ? h->pub.type : "node of no type");
    if (!topo_hosted_on(t, r->relationship))
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement host: relationship %s is not "
                            "tosca.relationships.HostedOn; expected HostedOn or a type "
                            "derived from it",
                            n->name, r->relationship);
    if (h->address == NULL || !topo_address_valid(h->address)) {
        if (reported[target]++) /* once per host, not once per node placed on it */
            return -EINVAL;
        return topo_diag_at(
            d, &h->pos,
            "host %s (of node %s): %s%s%s; expected an IPv4 or IPv6 address "
            "as attributes: {private_address: ADDRESS}",
            h->name, n->name, h->address ? "private_address '" : "it has no address",
            h->address ? h->address : "", h->address ? "' is not an IP address" : "");
    }
    n->pub.host = h->name;
    n->pub.address = h->address;
    return 0;
}

int topo_nodes_place(struct engine_topology *t, struct engine_diag *d)
{
    size_t nhosts = 0;
    char *reported;
    int bad = 0;

    for (size_t i = 0; i < t->nnodes; i++)
        if (topo_is_host(t, &t->nodes[i]) && t->nodes[i].address != NULL) {
            /* A Compute node with an address declares a host; one without (a TOSCA model of
             * a machine unisec does not run on) leaves the topology unplaced, as before. */
            nhosts++;
            t->nodes[i].pub.address = t->nodes[i].address;
        }
    if ((reported = calloc(t->nnodes + 1, 1)) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < t->nnodes; i++)
        if (t->nodes[i].runs && t->nodes[i].typed)
            bad |= topo_place_node(t, &t->nodes[i], nhosts, reported, d);
    free(reported);
    return bad;
}

int topo_place_ports_check(const struct engine_topology *t, const struct engine_topology_derived *x,
                           struct engine_diag *d)
{
    int bad = 0;

    /* Quadratic in the nodes that listen, with a few ports each: a thousand nodes take a few
     * million comparisons of integers, well under the derive's own cost. */
    for (size_t j = 1; j < x->nplans; j++) {
        const struct engine_topology_plan *b = &x->plans[j];
        for (size_t i = 0; i < j; i++) {
            const struct engine_topology_plan *a = &x->plans[i];
            /* Without hosts, every node listens on the daemon's address, which the topology
             * does not know: a clash is left to the daemon (EADDRINUSE), as it always was. */
            int same = a->address && b->address && strcmp(a->address, b->address) == 0;
            for (size_t p = 0; same && p < b->nports; p++)
                for (size_t q = 0; q < a->nports; q++)
                    if (a->ports[q] == b->ports[p]) {
                        bad = topo_diag_at(
                            d, &t->nodes[j].pos,
                            "node %s would listen on %s:%d, as node %s does; expected another "
                            "port%s",
                            b->node, b->address ? b->address : "the daemon's address", b->ports[p],
                            a->node, b->address ? " or another host" : "");
                        p = b->nports;
                        break;
                    }
        }
    }
    return bad;
}

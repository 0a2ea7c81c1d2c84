/* dispatch.c — the dispatch module: answers requests under its document_root with the static
 * responses of its `routes` property (routes.h), 404 and 405 included. */
#include "../module.h"
#include "common/routes.h"

static struct mod_routes dispatch_routes;
static const char *dispatch_root = "/"; /* document_root: the URL prefix served */
static size_t dispatch_root_len = 0;    /* without its trailing slash */
/* Per route: its response's Content-Type and body (with the newline), made once at boot. */
static struct mod_http_response dispatch_resp[MOD_ROUTES_MAX];
static const char dispatch_default[] = "GET /* 200 text/plain hello from unisec\n";

static int dispatch_init(const struct mod_props *p)
{
    const char *text = mod_prop_get(p, "routes"), *why = NULL;
    size_t line = 0, col = 0;
    const char *root = mod_prop_get(p, "document_root");
    if (text == NULL)
        text = dispatch_default;
    if (root) {
        size_t n = strlen(root);
        if (n == 0 || root[0] != '/' || strchr(root, '?') || strchr(root, ' ')) {
            printf("dispatch: property document_root: expected a path starting with /\n");
            return -UNISEC_EINVAL;
        }
        dispatch_root = root;
        dispatch_root_len = root[n - 1] == '/' ? n - 1 : n;
    }
    if (mod_routes_parse(&dispatch_routes, text, strlen(text), &line, &col, &why) < 0) {
        printf("dispatch: property routes:%zu:%zu: %s\n", line, col, why);
        return -UNISEC_EINVAL;
    }
    for (size_t i = 0; i < dispatch_routes.n; i++) {
        const struct mod_route *r = &dispatch_routes.r[i];
        struct mod_http_response *o = &dispatch_resp[i];
        o->status = r->status;
        if (!r->has_body)
            continue;
        char *ct = malloc(r->ctype_len + 1), *body = malloc(r->body_len + 1);
        if (ct == NULL || body == NULL) {
            printf("dispatch: out of memory\n");
            return -UNISEC_ENOMEM;
        }
        memcpy(ct, r->ctype, r->ctype_len);
        ct[r->ctype_len] = '\0';
        memcpy(body, r->body, r->body_len);
        body[r->body_len] = '\n';
        *o = (struct mod_http_response){r->status, ct, NULL, body, r->body_len + 1};
    }
    return 0;
}

static int dispatch_handle(struct mod_req *rq)
{
    const struct mod_http_request *h = rq->http;
    const struct mod_route *r = NULL;
    char allow[128], hdr[160];
    int st = mod_routes_match(&dispatch_routes, h->method, h->method_len, h->path, h->path_len, &r,
                              allow, sizeof(allow));
    if (st == 404) {
        static const struct mod_http_response nf = {404, "text/plain", NULL, "404 Not Found\n", 14};
        mod_req_respond(rq, &nf);
    } else if (st == 405) {
        snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
        struct mod_http_response na = {405, "text/plain", hdr, "405 Method Not Allowed\n", 23};
        mod_req_respond(rq, &na);
    } else {
        mod_req_respond(rq, &dispatch_resp[r - dispatch_routes.r]);
    }
    return MOD_DONE;
}

const struct mod_module mod_dispatch = {.name = "dispatch",
                                        .phase = MOD_PHASE_CONTENT,
                                        .init = dispatch_init,
                                        .handle = dispatch_handle};

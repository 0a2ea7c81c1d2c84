// routes.h — the routing table of the dispatch module: static responses chosen by method and
// path, configured by the module's `routes` property. (Line comments here, since the patterns
// hold slash-star.)
//
// The property is text, one route a line or routes separated by `;` (a topology's string
// values hold no newline), blank lines and `#` comment lines ignored:
//
//     METHOD PATH STATUS [CONTENT-TYPE [BODY...]]
//     GET    /*         200 text/plain hello from web
//     POST   /orders/*  201 text/plain order accepted
//     *      /health    204
//
// METHOD is a token or `*`; PATH is exact or a prefix pattern `P/*` with the ACL's meaning
// (engine/ACL.md: `/admin/*` matches `/admin`, `/admin/` and below, not `/administrator`);
// STATUS is 200..599; BODY is the rest of the route (so it holds no `;`), sent followed by a
// newline. *LINE in errors counts routes.
//
// Matching: the longest pattern that matches the path wins (an exact pattern beats a prefix
// one of the same length); at that pattern the exact method, else `*`; HEAD is served by a
// GET route without its body. A path no pattern matches is 404; a pattern without a route
// for the method is 405 with an Allow header.
//
// Freestanding, no allocation: routes point into the caller's text, which must outlive them.
#ifndef UNISEC_COMMON_ROUTES_H
#define UNISEC_COMMON_ROUTES_H

#include <stddef.h>

#define MOD_ROUTES_MAX 64

struct mod_route {
    const char *method, *path, *ctype, *body;
    size_t method_len, path_len, ctype_len, body_len; /* path: without a prefix's slash-star */
    int prefix;                                       /* a prefix pattern (P slash-star) */
    int status;
    int has_body; /* a CONTENT-TYPE was given: the body (possibly empty) plus a newline */
};

struct mod_routes {
    struct mod_route r[MOD_ROUTES_MAX];
    size_t n;
};

/*
 * Parses TEXT[0..LEN) into *RT. Returns 0, or -22 (EINVAL) with *LINE and *COL (1-based) at
 * the offending field and *WHY set to a static sentence.
 */
int mod_routes_parse(struct mod_routes *rt, const char *text, size_t len, size_t *line, size_t *col,
                     const char **why);

/*
 * Chooses the route for METHOD and PATH. Returns 200 with *OUT set, 404, or 405; for 405
 * ALLOW[0..CAP) receives the methods of the matching pattern as "GET, HEAD" (NUL-terminated,
 * truncated to fit).
 */
int mod_routes_match(const struct mod_routes *rt, const char *method, size_t method_len,
                     const char *path, size_t path_len, const struct mod_route **out, char *allow,
                     size_t cap);

#endif

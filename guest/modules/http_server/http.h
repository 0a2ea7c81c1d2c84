/*
 * http.h — the HTTP/1.1 request parser and response writer of the http_server module.
 *
 * Freestanding: no libc, no allocation. The parser reads a caller-owned buffer and returns
 * pointers into it; the writer formats into a caller-owned buffer of fixed size. Both are
 * bounded by the limits given, whatever the input holds.
 *
 * Strictness (RFC 9112): lines end with CRLF (a bare CR or LF is an error); no whitespace
 * before a header's colon; no obsolete line folding; header values without control bytes;
 * one Host for HTTP/1.1; Content-Length digits only and at most once; Transfer-Encoding is
 * not accepted for request bodies (411) and never together with Content-Length (400), which
 * shuts the door on request smuggling. The request target is origin-form ("/path?query"),
 * absolute-form (reduced to its path) or "*" for OPTIONS.
 */
#ifndef UNISEC_GUEST_HTTP_H
#define UNISEC_GUEST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define MOD_HTTP_HEADERS_MAX 64 /* upper bound for mod_http_limits.headers_max */
#define MOD_HTTP_METHOD_MAX  32

struct mod_http_limits {
    size_t line_max;    /* request line without CRLF; longer: 414 */
    size_t head_max;    /* request line and header fields with their CRLFs; larger: 431 */
    size_t headers_max; /* header fields, at most MOD_HTTP_HEADERS_MAX; more: 431 */
    uint64_t body_max;  /* Content-Length above it: 413 */
};

/* Defaults: nginx's order of magnitude (8 KB line, 16 KB head, 64 fields, 1 MB body). */
#define MOD_HTTP_LIMITS_DEFAULT                                                                    \
    {                                                                                              \
        8192, 16384, MOD_HTTP_HEADERS_MAX, 1048576                                                 \
    }

struct mod_http_header {
    const char *name, *value; /* into the parsed buffer; value trimmed of blanks */
    size_t name_len, value_len;
};

/* A parsed request head. Every pointer points into the caller's buffer. */
struct mod_http_request {
    const char *method, *target, *path, *query;
    size_t method_len, target_len, path_len, query_len; /* query: after '?', may be empty */
    int minor;                                          /* HTTP/1.MINOR: 0 or 1 */
    int keep_alive;    /* the connection may carry another request after this one */
    int has_query;     /* the target held a '?' */
    uint64_t body_len; /* Content-Length, 0 without one */
    size_t head_len;   /* bytes of the head, final CRLF included; the body follows */
    const char *host;  /* Host value, or NULL */
    size_t host_len;
    const char *authorization; /* Authorization value, or NULL */
    size_t authorization_len;
    size_t nheaders;
    struct mod_http_header headers[MOD_HTTP_HEADERS_MAX];
};

/*
 * Incremental scan state of one request head: zero it before the first byte of each
 * request. It lets the parser look at each received byte once while a head arrives in
 * pieces, so a client trickling bytes costs linear time.
 */
struct mod_http_scan {
    size_t pos;      /* bytes already searched for the end of the head */
    size_t line_end; /* end of the request line + 1 once seen, else 0 */
};

/*
 * Parses the request head at BUF[0..LEN), the bytes received so far on a connection.
 * Returns the head's length (> 0) when it is complete and valid, filling *RQ; 0 when more
 * bytes are needed (and none of the limits is exceeded yet); or a negative HTTP status
 * (-400, -411, -413, -414, -431, -501, -505) that the server answers before closing the
 * connection. LEN must not shrink between calls for one request.
 */
int mod_http_parse(struct mod_http_request *rq, struct mod_http_scan *scan, const char *buf,
                   size_t len, const struct mod_http_limits *lim);

/* A parsed response head (lb_proxy reads its upstreams' answers). */
struct mod_http_status {
    int minor;              /* HTTP/1.MINOR */
    int status;             /* 100..599 */
    int64_t content_length; /* -1 without one */
    int chunked;            /* Transfer-Encoding: chunked */
    int close;              /* the upstream will not carry another request on the connection */
    size_t head_len;
};

/*
 * Parses the response head at BUF[0..LEN) as mod_http_parse() parses a request head (same
 * scan state and limits). Returns the head's length, 0 when more bytes are needed, or -502
 * when it is malformed or over the limits (the proxy then answers 502 Bad Gateway).
 */
int mod_http_parse_status(struct mod_http_status *st, struct mod_http_scan *scan, const char *buf,
                          size_t len, const struct mod_http_limits *lim);

/* The value of the first header NAME (case-insensitive), or NULL; *LEN gets its length. */
const char *mod_http_header_get(const struct mod_http_request *rq, const char *name, size_t *len);

/* The reason phrase of STATUS ("Not Found"), "Unknown" when the status is not one we send. */
const char *mod_http_reason(int status);

/* A response being formatted into a fixed buffer. */
struct mod_http_out {
    char *buf;
    size_t cap, len;
    int overflow; /* set when something did not fit; the buffer then holds a truncated text */
};

struct mod_http_response {
    int status;
    const char *content_type; /* NULL: no Content-Type */
    const char *headers;      /* extra header lines, each ending with CRLF; NULL: none */
    const char *body;         /* NULL with body_len 0: empty */
    size_t body_len;
};

void mod_http_out_init(struct mod_http_out *o, char *buf, size_t cap);
void mod_http_out_bytes(struct mod_http_out *o, const void *p, size_t n);
void mod_http_out_str(struct mod_http_out *o, const char *s);
void mod_http_out_uint(struct mod_http_out *o, uint64_t v);

/*
 * Appends the whole response R: status line (always HTTP/1.1), Content-Type,
 * Content-Length, the Connection header that the client's version needs for KEEP_ALIVE,
 * R's extra headers, then the body unless HEAD_ONLY. Returns 0, or -1 when it did not fit
 * (o->overflow is then set).
 */
int mod_http_respond(struct mod_http_out *o, const struct mod_http_response *r, int minor,
                     int keep_alive, int head_only);

/* A short text/plain response "STATUS REASON\n" for errors. */
int mod_http_respond_error(struct mod_http_out *o, int status, const char *headers, int minor,
                           int keep_alive);

#endif

/* http.c — bounded, allocation-free HTTP/1.1 request parsing and response formatting. */
#include "http.h"

#include "common/mod_str.h"

/* Scans for the end of the head from where the last call stopped. Returns the head's length,
 * 0 when it is not complete yet, or a negative status. */
static int http_scan(struct mod_http_scan *s, const char *buf, size_t len,
                     const struct mod_http_limits *lim)
{
    for (size_t i = s->pos; i < len; i++) {
        char c = buf[i];
        char prev = i > 0 ? buf[i - 1] : '\0';
        if (prev == '\r' && c != '\n')
            return -400; /* a bare CR */
        if (c != '\n')
            continue;
        if (prev != '\r')
            return -400; /* a bare LF */
        if (s->line_end == 0) {
            if (i - 1 > lim->line_max)
                return -414;
            s->line_end = i + 1;
        } else if (buf[i - 2] == '\n') {
            /* CR LF CR LF: buf[i-3] is the CR of the previous line, checked above. */
            s->pos = i + 1;
            return i + 1 > lim->head_max ? -431 : (int)(i + 1);
        }
        if (i + 1 > lim->head_max)
            return -431;
    }
    s->pos = len;
    if (s->line_end == 0 && len > lim->line_max + 1)
        return -414;
    if (len >= lim->head_max)
        return s->line_end == 0 ? -414 : -431;
    return 0;
}

static int http_parse_version(const char *p, size_t n, int *minor)
{
    if (n != 8 || !mod_mem_eq(p, "HTTP/", 5) || p[6] != '.')
        return -400;
    if (p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
        return -400;
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return -505;
    *minor = p[7] - '0';
    return 0;
}

/* Splits the target into path and query; reduces absolute-form to its path. */
static int http_parse_target(struct mod_http_request *rq)
{
    const char *t = rq->target;
    size_t n = rq->target_len, start = 0;

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == '#')
            return -400;
    if (n == 1 && t[0] == '*') {
        if (rq->method_len != 7 || !mod_mem_eq(rq->method, "OPTIONS", 7))
            return -400;
        rq->path = t;
        rq->path_len = 1;
        rq->query = t + 1;
        return 0;
    }
    if (t[0] != '/') {
        size_t s;
        if (n > 7 && mod_ci_eq(t, 7, "http://"))
            s = 7;
        else if (n > 8 && mod_ci_eq(t, 8, "https://"))
            s = 8;
        else
            return -400;
        while (s < n && t[s] != '/' && t[s] != '?')
            s++;
        start = s;
    }
    size_t q = start;
    while (q < n && t[q] != '?')
        q++;
    if (q == start) {
        rq->path = "/"; /* absolute-form without a path: RFC 9112 3.2.2 */
        rq->path_len = 1;
    } else {
        rq->path = t + start;
        rq->path_len = q - start;
    }
    rq->has_query = q < n;
    rq->query = q < n ? t + q + 1 : t + n;
    rq->query_len = q < n ? n - q - 1 : 0;
    return 0;
}

static int http_parse_request_line(struct mod_http_request *rq, const char *buf, size_t n)
{
    size_t i = 0, m, t;
    int err;

    while (i < n && mod_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= n || buf[i] != ' ')
        return -400;
    if (i > MOD_HTTP_METHOD_MAX)
        return -501;
    m = i;
    t = ++i;
    while (i < n && buf[i] != ' ')
        i++;
    if (i == t || i >= n)
        return -400;
    rq->method = buf;
    rq->method_len = m;
    rq->target = buf + t;
    rq->target_len = i - t;
    if ((err = http_parse_version(buf + i + 1, n - i - 1, &rq->minor)) < 0)
        return err;
    return http_parse_target(rq);
}

static int http_content_length(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 19)
        return -400;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -400;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Reads the comma-separated options of a Connection header. */
static void http_connection(const char *v, size_t n, int *close, int *keep)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (mod_ci_eq(v + s, i - s, "close"))
            *close = 1;
        else if (mod_ci_eq(v + s, i - s, "keep-alive"))
            *keep = 1;
    }
}

struct http_seen {
    int host, length, te, te_chunked, close, keep;
};

static int http_header_use(struct mod_http_request *rq, const struct mod_http_header *h,
                           struct http_seen *seen, const struct mod_http_limits *lim)
{
    switch (mod_lower((unsigned char)h->name[0])) {
    case 'h':
        if (mod_ci_eq(h->name, h->name_len, "host")) {
            if (seen->host++)
                return -400;
            rq->host = h->value;
            rq->host_len = h->value_len;
        }
        break;
    case 'c':
        if (mod_ci_eq(h->name, h->name_len, "content-length")) {
            if (seen->length++ || http_content_length(h->value, h->value_len, &rq->body_len))
                return -400;
            if (rq->body_len > lim->body_max)
                return -413;
        } else if (mod_ci_eq(h->name, h->name_len, "connection")) {
            http_connection(h->value, h->value_len, &seen->close, &seen->keep);
        }
        break;
    case 't':
        if (mod_ci_eq(h->name, h->name_len, "transfer-encoding")) {
            seen->te = 1;
            seen->te_chunked = mod_ci_eq(h->value, h->value_len, "chunked");
        }
        break;
    case 'a':
        if (mod_ci_eq(h->name, h->name_len, "authorization")) {
            if (rq->authorization)
                return -400; /* two credentials: which one would be checked? */
            rq->authorization = h->value;
            rq->authorization_len = h->value_len;
        }
        break;
    }
    return 0;
}

/* Parses one header line BUF[0..N) (CRLF excluded) into *H. */
static int http_parse_field(struct mod_http_header *h, const char *buf, size_t n)
{
    size_t i = 0;
    while (i < n && mod_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= n || buf[i] != ':')
        return -400; /* empty name, blank before ':' (or obs-fold), or no ':' */
    h->name = buf;
    h->name_len = i;
    i++;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
        e--;
    for (size_t k = i; k < e; k++) {
        unsigned char c = (unsigned char)buf[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -400;
    }
    h->value = buf + i;
    h->value_len = e - i;
    return 0;
}

int mod_http_parse(struct mod_http_request *rq, struct mod_http_scan *scan, const char *buf,
                   size_t len, const struct mod_http_limits *lim)
{
    struct http_seen seen = {0};
    int end, err;

    if ((end = http_scan(scan, buf, len, lim)) <= 0)
        return end;

    *rq = (struct mod_http_request){0};
    if ((err = http_parse_request_line(rq, buf, scan->line_end - 2)) < 0)
        return err;
    size_t p = scan->line_end;
    while (p < (size_t)end - 2) {
        size_t e = p;
        while (buf[e] != '\r')
            e++; /* the scan guarantees a CRLF before the end */
        if (rq->nheaders >= lim->headers_max || rq->nheaders >= MOD_HTTP_HEADERS_MAX)
            return -431;
        struct mod_http_header *h = &rq->headers[rq->nheaders];
        if ((err = http_parse_field(h, buf + p, e - p)) < 0)
            return err;
        rq->nheaders++;
        if ((err = http_header_use(rq, h, &seen, lim)) < 0)
            return err;
        p = e + 2;
    }
    if (seen.te)
        return seen.length ? -400 : seen.te_chunked ? -411 : -501;
    if (rq->minor == 1 && !seen.host)
        return -400;
    rq->keep_alive = rq->minor == 1 ? !seen.close : seen.keep && !seen.close;
    rq->head_len = (size_t)end;
    return end;
}

int mod_http_parse_status(struct mod_http_status *st, struct mod_http_scan *scan, const char *buf,
                          size_t len, const struct mod_http_limits *lim)
{
    int end = http_scan(scan, buf, len, lim), err, keep = 0, close = 0, seen_length = 0;
    if (end <= 0)
        return end == 0 ? 0 : -502;
    size_t n = scan->line_end - 2;
    *st = (struct mod_http_status){0, 0, -1, 0, 0, (size_t)end};
    /* "HTTP/1.x NNN" then a blank and a reason phrase, possibly empty. */
    if (n < 12 || http_parse_version(buf, 8, &st->minor) < 0 || buf[8] != ' ' ||
        (n > 12 && buf[12] != ' '))
        return -502;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -502;
        st->status = st->status * 10 + (buf[i] - '0');
    }
    if (st->status < 100)
        return -502;
    for (size_t i = 12; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
            return -502;
    size_t p = scan->line_end, nh = 0;
    while (p < (size_t)end - 2) {
        struct mod_http_header h;
        size_t e = p;
        while (buf[e] != '\r')
            e++;
        if (++nh > lim->headers_max || (err = http_parse_field(&h, buf + p, e - p)) < 0)
            return -502;
        if (mod_ci_eq(h.name, h.name_len, "content-length")) {
            uint64_t v;
            if (seen_length++ || http_content_length(h.value, h.value_len, &v) < 0 ||
                v > lim->body_max)
                return -502;
            st->content_length = (int64_t)v;
        } else if (mod_ci_eq(h.name, h.name_len, "transfer-encoding")) {
            st->chunked = 1;
        } else if (mod_ci_eq(h.name, h.name_len, "connection")) {
            http_connection(h.value, h.value_len, &close, &keep);
        }
        p = e + 2;
    }
    if (st->chunked && seen_length)
        return -502;
    st->close = st->minor == 1 ? close : !keep || close;
    int bodiless = st->status < 200 || st->status == 204 || st->status == 304;
    if (!bodiless && !st->chunked && st->content_length < 0)
        st->close = 1; /* the body runs to the end of the connection */
    return end;
}

const char *mod_http_header_get(const struct mod_http_request *rq, const char *name, size_t *len)
{
    for (size_t i = 0; i < rq->nheaders; i++)
        if (mod_ci_eq(rq->headers[i].name, rq->headers[i].name_len, name)) {
            *len = rq->headers[i].value_len;
            return rq->headers[i].value;
        }
    *len = 0;
    return NULL;
}

const char *mod_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void mod_http_out_init(struct mod_http_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = 0;
}

void mod_http_out_bytes(struct mod_http_out *o, const void *p, size_t n)
{
    if (n > o->cap - o->len) {
        n = o->cap - o->len;
        o->overflow = 1;
    }
    mod_copy(o->buf + o->len, p, n);
    o->len += n;
}

void mod_http_out_str(struct mod_http_out *o, const char *s)
{
    mod_http_out_bytes(o, s, mod_strlen(s));
}

void mod_http_out_uint(struct mod_http_out *o, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    mod_http_out_bytes(o, d + sizeof(d) - n, n);
}

int mod_http_respond(struct mod_http_out *o, const struct mod_http_response *r, int minor,
                     int keep_alive, int head_only)
{
    mod_http_out_str(o, "HTTP/1.1 ");
    mod_http_out_uint(o, (uint64_t)r->status);
    mod_http_out_str(o, " ");
    mod_http_out_str(o, mod_http_reason(r->status));
    mod_http_out_str(o, "\r\n");
    if (r->content_type) {
        mod_http_out_str(o, "Content-Type: ");
        mod_http_out_str(o, r->content_type);
        mod_http_out_str(o, "\r\n");
    }
    mod_http_out_str(o, "Content-Length: ");
    mod_http_out_uint(o, r->body_len);
    mod_http_out_str(o, "\r\n");
    /* HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told. */
    if (!keep_alive)
        mod_http_out_str(o, "Connection: close\r\n");
    else if (minor == 0)
        mod_http_out_str(o, "Connection: keep-alive\r\n");
    if (r->headers)
        mod_http_out_str(o, r->headers);
    mod_http_out_str(o, "\r\n");
    if (!head_only && r->body_len)
        mod_http_out_bytes(o, r->body, r->body_len);
    return o->overflow ? -1 : 0;
}

int mod_http_respond_error(struct mod_http_out *o, int status, const char *headers, int minor,
                           int keep_alive)
{
    /* "NNN Reason\n": at most 3 digits, a blank, the longest reason and a newline. */
    char body[64];
    struct mod_http_out b;
    mod_http_out_init(&b, body, sizeof(body));
    mod_http_out_uint(&b, (uint64_t)status);
    mod_http_out_str(&b, " ");
    mod_http_out_str(&b, mod_http_reason(status));
    mod_http_out_str(&b, "\n");
    struct mod_http_response r = {status, "text/plain", headers, body, b.len};
    return mod_http_respond(o, &r, minor, keep_alive, 0);
}

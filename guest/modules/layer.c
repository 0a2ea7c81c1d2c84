/* layer.c — the front's connections (module.h): straight onto libos streams, or through the
 * one layer a module set beneath them (tls); and the layer a module set over the connections
 * to upstreams (tls_upstream). */
#include "module.h"

static const struct mod_layer *mod_layer;
static const struct mod_upstream_layer *mod_up_layer;

void mod_upstream_layer_set(const struct mod_upstream_layer *l)
{
    mod_up_layer = l;
}

const struct mod_upstream_layer *mod_upstream_layer(void)
{
    return mod_up_layer;
}

void mod_layer_set(const struct mod_layer *l)
{
    mod_layer = l;
}

int mod_conn_open(struct mod_conn *c, struct libos_stream *s, enum mod_conn_mode mode,
                  const struct libos_stream_ops *ops, void *ctx)
{
    c->s = s;
    c->h = NULL;
    if (mode == MOD_CONN_LAYER && mod_layer == NULL) {
        /* an "https" listener with nothing to terminate TLS: never served in clear */
        libos_stream_close(s);
        c->s = NULL;
        return -UNISEC_ENOENT;
    }
    if (mode == MOD_CONN_PLAIN || mod_layer == NULL) {
        libos_stream_set_ops(s, ops, ctx);
        return 0;
    }
    if ((c->h = mod_layer->open(s, ops, ctx)) == NULL) {
        c->s = NULL;
        return -UNISEC_ENOMEM;
    }
    return 0;
}

long mod_conn_read(struct mod_conn *c, void *buf, size_t len)
{
    return c->h ? mod_layer->read(c->h, buf, len) : libos_stream_read(c->s, buf, len);
}

long mod_conn_write(struct mod_conn *c, const void *buf, size_t len)
{
    return c->h ? mod_layer->write(c->h, buf, len) : libos_stream_write(c->s, buf, len);
}

void mod_conn_want(struct mod_conn *c, unsigned want)
{
    if (c->h)
        mod_layer->want(c->h, want);
    else
        libos_stream_want(c->s, want);
}

void mod_conn_close(struct mod_conn *c)
{
    if (c->h)
        mod_layer->close(c->h);
    else if (c->s)
        libos_stream_close(c->s);
    c->s = NULL;
    c->h = NULL;
}

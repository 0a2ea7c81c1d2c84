/*
 * tender_tls.c — the TLS device: the server credentials (contract/tls_creds.h) of an image
 * with the tls module, handed to the guest once (UNISEC_HC_TLS_CREDS) and erased then.
 *
 * They come from the supervisor as an inherited descriptor (--tls-fd N: a memory file holding
 * the blob, read whole at start and closed), or from PEM files (--tls-cert CHAIN --tls-key
 * KEY), which engine_tls_check() checks and converts. Either way the tender checks the
 * blob's framing before the guest starts, keeps it out of core dumps, and wipes it as soon
 * as the guest has its copy.
 */
#include "tender_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/tls_creds.h"

/* Frees the blob after wiping it. */
static void tender_tls_drop(struct tender *t)
{
    if (t->tls_blob) {
        explicit_bzero(t->tls_blob, t->tls_len);
        munmap(t->tls_blob, t->tls_len);
    }
    t->tls_blob = NULL;
    t->tls_len = 0;
}

/* The blob from the PEM files of the configuration. */
static int tender_tls_pem(struct tender *t, void **blob, size_t *len, struct engine_diag *d)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t clen = 0, klen = 0;
    int rc =
        tender_input_read("--tls-cert", t->cfg.tls_cert, UNISEC_TLS_CREDS_MAX, 0, &cert, &clen, d);
    if (rc == 0)
        rc =
            tender_input_read("--tls-key", t->cfg.tls_key, UNISEC_TLS_CREDS_MAX, 1, &key, &klen, d);
    if (rc == 0) {
        /* The names in its messages: standard input is named as such. */
        const char *cn = strcmp(t->cfg.tls_cert, "-") ? t->cfg.tls_cert : "standard input";
        const char *kn = strcmp(t->cfg.tls_key, "-") ? t->cfg.tls_key : "standard input";
        struct engine_tls_input in = {(const char *)cert, (const char *)key, clen, klen, cn, kn,
                                      (int64_t)time(NULL)};
        rc = engine_tls_check(&in, NULL, blob, len, d);
    }
    if (key) {
        explicit_bzero(key, klen);
        free(key);
    }
    free(cert);
    return rc;
}

static int tender_tls_init(struct tender *t, uint32_t id, struct engine_diag *d)
{
    (void)id;
    int dev = tender_device_first(t, UNISEC_DEV_TLS);
    int given = t->cfg.tls_fd > 2 || t->cfg.tls_cert || t->cfg.tls_key;
    if (dev < 0)
        return given ? engine_diag_add(d, t->cfg.image, 0, 0,
                                       "the image has no tls module: it cannot take --tls-cert, "
                                       "--tls-key or --tls-fd")
                     : 0;
    if (!given)
        return engine_diag_add(d, t->cfg.image, 0, 0,
                               "the image terminates TLS: give it its certificate chain and key "
                               "(--tls-cert CHAIN.pem --tls-key KEY.pem, or --tls-fd N)");
    if (t->cfg.tls_fd <= 2 && (!t->cfg.tls_cert || !t->cfg.tls_key))
        return engine_diag_add(d, NULL, 0, 0, "--tls-cert and --tls-key go together");
    /* Mapped on its own, out of core dumps and swap. */
    t->tls_blob = mmap(NULL, UNISEC_TLS_CREDS_MAX, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t->tls_blob == MAP_FAILED) {
        t->tls_blob = NULL;
        return engine_diag_add(d, NULL, 0, 0, "TLS credentials: %s", strerror(errno));
    }
    t->tls_len = UNISEC_TLS_CREDS_MAX;
    madvise(t->tls_blob, t->tls_len, MADV_DONTDUMP);
    mlock(t->tls_blob, t->tls_len); /* best effort: RLIMIT_MEMLOCK may refuse it */
    void *blob = NULL;
    size_t len = 0;
    int rc;
    if (t->cfg.tls_fd > 2) {
        uint8_t *b = NULL;
        rc = tender_input_fd(t->cfg.tls_fd, UNISEC_TLS_CREDS_MAX, 1, &b, &len);
        close(t->cfg.tls_fd);
        t->cfg.tls_fd = -1;
        blob = b;
        if (rc < 0)
            return engine_diag_add(d, NULL, 0, 0,
                                   "--tls-fd: cannot read the credentials, or they are over %u "
                                   "bytes",
                                   UNISEC_TLS_CREDS_MAX);
    } else if ((rc = tender_tls_pem(t, &blob, &len, d)) < 0) {
        return rc;
    }
    memcpy(t->tls_blob, blob, len);
    explicit_bzero(blob, len);
    free(blob);
    ssize_t n = (ssize_t)len;
    struct tls_creds cr;
    const char *why;
    if (tls_creds_parse(t->tls_blob, (size_t)n, &cr, &why) < 0)
        return engine_diag_add(d, NULL, 0, 0, "the TLS credentials are malformed: %s", why);
    t->tls_have = (size_t)n;
    return 0;
}

static int tender_hc_tls_creds(struct tender *t, void *arg, const struct tender_devs *all)
{
    struct unisec_hc_tls_creds *a = arg;
    (void)all;
    if (tender_device_first(t, UNISEC_DEV_TLS) < 0)
        return tender_kill(t, "tls_creds, but the manifest declares no TLS device");
    uint8_t *p = tender_guest_ptr(t, a->buf, a->cap);
    if (p == NULL)
        return tender_kill(t, "tls_creds: buffer 0x%llx+%llu lies outside guest memory",
                           (unsigned long long)a->buf, (unsigned long long)a->cap);
    if (t->tls_blob == NULL) {
        a->ret = -ENOENT;
        return TENDER_CONTINUE;
    }
    a->len = t->tls_have;
    if (a->cap < t->tls_have) {
        a->ret = -EMSGSIZE;
        return TENDER_CONTINUE;
    }
    memcpy(p, t->tls_blob, t->tls_have);
    tender_tls_drop(t); /* the guest has them: nothing else needs them */
    a->ret = 0;
    return TENDER_CONTINUE;
}

/* After the lockdown: the wipe's munmap. */
static int tender_tls_seccomp(const struct tender *t, scmp_filter_ctx ctx)
{
    if (t->tls_blob == NULL)
        return 0;
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(munmap), 2,
                            SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(uintptr_t)t->tls_blob),
                            SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)t->tls_len));
}

const struct tender_dev tender_tls_dev = {
    .name = "tls",
    .init = tender_tls_init,
    .fini = tender_tls_drop,
    .seccomp = tender_tls_seccomp,
    .hc =
        {
            [UNISEC_HC_TLS_CREDS] =
                TENDER_HC("tls_creds", struct unisec_hc_tls_creds, tender_hc_tls_creds),
        },
};

/* policy.c — test guest: takes blobs from the policy channel, validates each with the
 * engine's freestanding validator, acknowledges or refuses it, and exits after as many
 * blobs as its boot argument says (default 1). */
#include "libos.h"

#include "common/acl_lookup.h"

UNISEC_MANIFEST(UNISEC_POLICY("policy"));

static unsigned long policy_left;

static void policy_pending(void *ctx)
{
    (void)ctx;
    void *blob;
    size_t len;
    int rc = libos_policy_take(&blob, &len);
    if (rc == -UNISEC_ENOENT)
        return;
    if (rc < 0)
        libos_panic("policy_take: %d", rc);
    struct engine_acl_blob b;
    const char *why = "";
    rc = engine_acl_blob_open(&b, blob, len, &why);
    if (rc == 0) {
        printf("policy version %llu accepted (%u rules)\n",
               (unsigned long long)b.hdr->policy_version, b.rule_count);
        libos_policy_ack(b.hdr->policy_version);
    } else {
        printf("policy refused: %s\n", why);
        libos_policy_refuse(0, rc, why);
    }
    free(blob);
    if (--policy_left == 0)
        libos_loop_stop(0);
}

int libos_main(const char *cmdline)
{
    policy_left = *cmdline ? strtoul(cmdline, NULL, 10) : 1;
    if (libos_policy_watch("policy", policy_pending, NULL) < 0)
        return 1;
    return libos_loop_run();
}

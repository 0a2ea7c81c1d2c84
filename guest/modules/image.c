/* image.c — the image's entry point and module chain: boots every module in P_UG's order,
 * orders the request hooks by phase, then runs the library OS's event loop. */
#include "module.h"
#include "common/crc32c.h"
#include "common/sha256.h"

#define IMAGE_MODULES_MAX 32

/* The modules with a handle(), in phase order (stable: P_UG's order within a phase). */
static const struct mod_module *image_hooks[IMAGE_MODULES_MAX];
static size_t image_nhooks;

const char *mod_prop_get(const struct mod_props *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    return NULL;
}

int mod_prop_uint(const struct mod_props *p, const char *module, const char *name, uint64_t def,
                  uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = mod_prop_get(p, name);
    uint64_t x = 0;
    size_t i = 0;

    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (; v[i] >= '0' && v[i] <= '9' && i < 19; i++)
        x = x * 10 + (uint64_t)(v[i] - '0');
    if (i == 0 || v[i] != '\0' || x < min || x > max) {
        printf("%s: property %s: expected an integer from %llu to %llu, got '%s'\n", module, name,
               (unsigned long long)min, (unsigned long long)max, v);
        return -UNISEC_EINVAL;
    }
    *out = x;
    return 0;
}

int mod_chain_run(struct mod_req *rq)
{
    for (; rq->stage < image_nhooks; rq->stage++) {
        int r = image_hooks[rq->stage]->handle(rq);
        if (r == MOD_DONE || r == MOD_WAIT)
            return r;
    }
    return MOD_NEXT;
}

void mod_chain_done(const struct mod_req *rq)
{
    for (size_t i = 0; i < mod_image.n; i++)
        if (mod_image.chain[i].module->done)
            mod_image.chain[i].module->done(rq);
}

int libos_main(const char *cmdline)
{
    (void)cmdline;
    /* The SHA extensions (a password check's PBKDF2) as the tender saw them: no CPUID. */
    const struct unisec_boot_info *bi = libos_boot_info();
    engine_sha256_cpu(bi->cpuid1_ecx, bi->cpuid7_ebx);
    engine_crc32c_cpu(bi->cpuid1_ecx); /* the rules region's check (libos_rules()) */
    printf("unisec image: node %s, level %s, target %s, %zu modules\n", mod_image.node,
           mod_image.level, mod_image.target, mod_image.n);
    if (mod_image.n > IMAGE_MODULES_MAX) {
        printf("unisec image: more than %d modules\n", IMAGE_MODULES_MAX);
        return 2;
    }
    for (int phase = MOD_PHASE_LIMIT; phase <= MOD_PHASE_CONTENT; phase++)
        for (size_t i = 0; i < mod_image.n; i++) {
            const struct mod_module *m = mod_image.chain[i].module;
            if (m->handle && (int)m->phase == phase)
                image_hooks[image_nhooks++] = m;
        }
    for (size_t i = 0; i < mod_image.n; i++) {
        const struct mod_instance *in = &mod_image.chain[i];
        if (in->module->init && in->module->init(&in->props) < 0) {
            printf("unisec image: module %s failed to start\n", in->module->name);
            return 2;
        }
    }
    return libos_loop_run();
}

/* builder.c — from P_UG to bootable images: configuration, cached compilation, link, id. */
#include "builder_int.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/acl_lookup.h"
#include "common/routes.h"
#include "common/sha256.h"
#include "engine/json.h"

int builder_new(struct builder **out, const struct builder_options *opt, struct engine_diag *d)
{
    struct builder *b = calloc(1, sizeof(*b));
    const char *cache = opt ? opt->cache_dir : NULL, *cc = opt ? opt->cc : NULL;
    int e;

    *out = NULL;
    if (b == NULL)
        return -ENOMEM;
    if (cache == NULL && (cache = getenv(BUILDER_CACHE_ENV)) && !*cache)
        cache = NULL;
    if (cache)
        b->cache = strdup(cache);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        b->cache = builder_fmt("%s/unisec", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        b->cache = builder_fmt("%s/.cache/unisec", getenv("HOME"));
    else
        b->cache = strdup(".unisec-cache");
    if (cc == NULL && (cc = getenv("CC")) && !*cc)
        cc = NULL;
    b->cc = strdup(cc ? cc : "cc");
    b->src = realpath(builder_source_dir(), NULL);
    if (b->src == NULL) {
        e = -errno;
        engine_diag_add(d, builder_source_dir(), 0, 0,
                        "the unisec source tree is not there: %s (set %s)", strerror(-e),
                        BUILDER_SOURCE_ENV);
        builder_free(b);
        return e;
    }
    b->jobs = opt && opt->jobs ? opt->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (b->jobs == 0)
        b->jobs = 1;
    if (b->cache == NULL || b->cc == NULL) {
        builder_free(b);
        return -ENOMEM;
    }
    char *obj = builder_fmt("%s/obj", b->cache), *lib = builder_fmt("%s/lib", b->cache);
    e = obj && lib ? builder_mkdirs(obj) : -ENOMEM;
    if (e == 0)
        e = builder_mkdirs(lib);
    if (e < 0)
        engine_diag_add(d, b->cache, 0, 0, "cannot create the build cache: %s", strerror(-e));
    free(obj);
    free(lib);
    if (e == 0)
        e = builder_toolchain(b, d);
    if (e == 0)
        e = builder_scan(b, d);
    if (e < 0) {
        builder_free(b);
        return e;
    }
    *out = b;
    return 0;
}

void builder_free(struct builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nunits; i++)
        free(b->units[i].rel);
    free(b->units);
    free(b->src);
    free(b->cache);
    free(b->cc);
    free(b->isystem);
    free(b);
}

/* ---- the image ---- */

struct builder_image {
    struct builder *b;
    const struct builder_spec *spec;
    const char *out_dir;
    struct builder_result *res;
    char *config;     /* generated config.c */
    const char *lib;  /* the target's module archive */
    const char *bind; /* the target's binding object */
    struct engine_diag diag;
};

static int builder_name_ok(const char *s, size_t max, int dash)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              (dash && s[i] == '-')))
            return 0;
    return 1;
}

static const char *builder_prop(const struct builder_module *m, const char *name)
{
    for (size_t i = 0; i < m->nprops; i++)
        if (strcmp(m->props[i].name, name) == 0)
            return m->props[i].value;
    return NULL;
}

static const struct builder_module *builder_module_find(const struct builder_spec *s,
                                                        const char *name)
{
    for (size_t i = 0; i < s->nmodules; i++)
        if (strcmp(s->modules[i].name, name) == 0)
            return &s->modules[i];
    return NULL;
}

/* The upstream device names of lb_proxy's `backends` parameter ("NODE:PORT NODE:PORT"). */
static int builder_upstreams(const char *v, char names[][32], long *ports, size_t max, size_t *n)
{
    *n = 0;
    while (v && *v) {
        while (*v == ' ' || *v == ',' || *v == '\t')
            v++;
        size_t l = strcspn(v, " ,\t:");
        if (l == 0)
            break;
        if (l > 31 || *n == max)
            return -EINVAL;
        memcpy(names[*n], v, l);
        names[*n][l] = '\0';
        if (!builder_name_ok(names[*n], 31, 1))
            return -EINVAL;
        v += l;
        ports[*n] = *v == ':' ? strtol(v + 1, NULL, 10) : 0; /* for the runtime */
        (*n)++;
        v += strcspn(v, " ,\t");
    }
    return 0;
}

int builder_spec_check(const struct builder_spec *s, struct engine_diag *d)
{
    int bad = 0;
    const char *src = builder_source_dir();

    if (s->node == NULL || !builder_name_ok(s->node, 64, 1))
        bad = engine_diag_add(d, NULL, 0, 0, "node name '%s': expected 1-64 of [a-z0-9_-]",
                              s->node ? s->node : "");
    if (s->level == NULL || !builder_name_ok(s->level, 64, 1))
        bad = engine_diag_add(d, NULL, 0, 0, "level name '%s': expected 1-64 of [a-z0-9_-]",
                              s->level ? s->level : "");
    if (s->target == NULL || (strcmp(s->target, "hvt") != 0 && strcmp(s->target, "spt") != 0))
        bad = engine_diag_add(d, NULL, 0, 0, "target '%s': expected hvt or spt",
                              s->target ? s->target : "");
    if (builder_module_find(s, "http_server") == NULL && builder_module_find(s, "lb_proxy") == NULL)
        bad = engine_diag_add(d, NULL, 0, 0,
                              "node %s: an image needs http_server or lb_proxy to serve anything",
                              s->node ? s->node : "");
    for (size_t i = 0; i < s->nmodules; i++) {
        const struct builder_module *m = &s->modules[i];
        struct stat st;
        char *dir = builder_fmt("%s/%s/%s", src, builder_paths.modules, m->name);
        if (!builder_name_ok(m->name, 31, 0) || dir == NULL || stat(dir, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            bad = engine_diag_add(d, NULL, 0, 0, "module '%s' has no sources in %s/%s", m->name,
                                  src, builder_paths.modules);
        free(dir);
        if (builder_module_find(s, m->name) != m)
            bad = engine_diag_add(d, NULL, 0, 0, "module %s appears twice in the chain", m->name);
    }
    const struct builder_module *m = builder_module_find(s, "dispatch");
    const char *routes = m ? builder_prop(m, "routes") : NULL;
    if (routes) {
        static struct mod_routes rt; /* 64 routes: too large for a worker's stack */
        static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
        size_t line, col;
        const char *why;
        pthread_mutex_lock(&rt_lock);
        if (mod_routes_parse(&rt, routes, strlen(routes), &line, &col, &why) < 0)
            bad = engine_diag_add(d, "dispatch.routes", (int)line, (int)col, "%s", why);
        pthread_mutex_unlock(&rt_lock);
    }
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        const char *pdp = builder_prop(m, "pdp"), *policy = builder_prop(m, "policy");
        if (pdp == NULL || (strcmp(pdp, "internal") && strcmp(pdp, "push") && strcmp(pdp, "pull")))
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "acl_pep: property pdp is '%s': expected internal, push or pull",
                                  pdp ? pdp : "");
        if (policy == NULL || !builder_name_ok(policy, ENGINE_ACL_NAME_MAX, 1))
            bad =
                engine_diag_add(d, NULL, 0, 0, "acl_pep: property policy: expected a policy name");
        if (pdp && strcmp(pdp, "internal") == 0) {
            const char *why = "no compiled rules were given";
            if (s->acl_blob == NULL || engine_acl_blob_check(s->acl_blob, s->acl_len, &why) < 0)
                bad = engine_diag_add(
                    d, NULL, 0, 0, "acl_pep: an internal PDP needs the node's compiled rules: %s",
                    why);
        } else if (s->acl_blob) {
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "acl_pep: compiled rules are linked in only for an internal PDP");
        }
    } else if (s->acl_blob) {
        bad = engine_diag_add(d, NULL, 0, 0, "compiled rules given but no acl_pep module");
    } else if (builder_module_find(s, "authn")) {
        bad =
            engine_diag_add(d, NULL, 0, 0, "authn needs acl_pep: the credentials are in its rules");
    }
    if ((m = builder_module_find(s, "lb_proxy")) != NULL) {
        char names[8][32];
        long ports[8];
        size_t n;
        if (builder_upstreams(builder_prop(m, "backends"), names, ports, 8, &n) < 0 || n == 0)
            bad = engine_diag_add(d, NULL, 0, 0,
                                  "lb_proxy: parameter backends: expected 1 to 8 NODE:PORT");
    }
    return bad;
}

/* Writes S to F as a C string literal. */
static void builder_cstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f || c == '?') /* '?': no trigraphs */
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The devices the image's manifest declares, derived from its modules. */
static void builder_devices(const struct builder_spec *s, FILE *f)
{
    const struct builder_module *m;
    int first = 1;
    fputs("UNISEC_MANIFEST(", f);
    if (builder_module_find(s, "http_server") || builder_module_find(s, "lb_proxy")) {
        fputs("UNISEC_LISTEN(\"http\")", f);
        first = 0;
    }
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        const char *pdp = builder_prop(m, "pdp");
        if (strcmp(pdp, "push") == 0)
            fprintf(f, "%sUNISEC_POLICY(\"policy\")", first ? "" : ", "), first = 0;
        else if (strcmp(pdp, "pull") == 0)
            fprintf(f, "%sUNISEC_PDP(\"pdp\")", first ? "" : ", "), first = 0;
    }
    if ((m = builder_module_find(s, "lb_proxy")) != NULL) {
        char names[8][32];
        long ports[8];
        size_t n = 0;
        builder_upstreams(builder_prop(m, "backends"), names, ports, 8, &n);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%sUNISEC_UPSTREAM(\"%s\")", first ? "" : ", ", names[i]), first = 0;
    }
    fputs(");\n\n", f);
}

/* Generates config.c: the manifest note and the module chain with its properties. */
static char *builder_config(const struct builder_spec *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return NULL;
    fprintf(f, "/* Generated by the unisec builder (%s): node %s, level %s, target %s. */\n",
            BUILDER_FORMAT, s->node, s->level, s->target);
    fprintf(f, "#include \"%s\"\n\n", builder_paths.module_h);
    builder_devices(s, f);
    for (size_t i = 0; i < s->nmodules; i++)
        fprintf(f, "extern const struct mod_module mod_%s;\n", s->modules[i].name);
    fputc('\n', f);
    for (size_t i = 0; i < s->nmodules; i++) {
        const struct builder_module *m = &s->modules[i];
        if (m->nprops == 0)
            continue;
        fprintf(f, "static const struct mod_prop mod_props_%zu[] = {\n", i);
        for (size_t k = 0; k < m->nprops; k++) {
            fputs("    {", f);
            builder_cstr(f, m->props[k].name);
            fputs(", ", f);
            builder_cstr(f, m->props[k].value);
            fputs("},\n", f);
        }
        fputs("};\n", f);
    }
    fputs("\nstatic const struct mod_instance mod_chain[] = {\n", f);
    for (size_t i = 0; i < s->nmodules; i++) {
        if (s->modules[i].nprops)
            fprintf(f, "    {&mod_%s, {mod_props_%zu, %zu}},\n", s->modules[i].name, i,
                    s->modules[i].nprops);
        else
            fprintf(f, "    {&mod_%s, {0, 0}},\n", s->modules[i].name);
    }
    fputs("};\n\nconst struct mod_image mod_image = {", f);
    builder_cstr(f, s->node);
    fputs(", ", f);
    builder_cstr(f, s->level);
    fputs(", ", f);
    builder_cstr(f, s->target);
    fprintf(f, ", %zu, mod_chain};\n", s->nmodules);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static const char builder_blob_asm[] =
    "/* The internal PDP's compiled rules (acl_pep.c). Generated by the unisec builder. */\n"
    "    .section .rodata.unisec_acl, \"a\"\n"
    "    .balign 16\n"
    "    .globl mod_acl_internal_blob\n"
    "mod_acl_internal_blob:\n"
    "    .incbin \"acl.blob\"\n"
    "    .globl mod_acl_internal_blob_end\n"
    "mod_acl_internal_blob_end:\n"
    "    .section .note.GNU-stack, \"\", @progbits\n";

static void builder_image_id(struct builder_image *im, const uint8_t lib_key[32])
{
    struct engine_sha256 h;
    uint8_t id[32];
    engine_sha256_init(&h);
    engine_sha256_update(&h, im->b->toolchain, 32);
    engine_sha256_update(&h, lib_key, 32);
    engine_sha256_update(&h, im->spec->target, strlen(im->spec->target) + 1);
    engine_sha256_update(&h, im->config, strlen(im->config) + 1);
    uint64_t bl = im->spec->acl_blob ? im->spec->acl_len : 0;
    engine_sha256_update(&h, &bl, sizeof(bl));
    if (bl)
        engine_sha256_update(&h, im->spec->acl_blob, im->spec->acl_len);
    engine_sha256_final(&h, id);
    builder_hex(im->res->id, id, BUILDER_ID_LEN / 2);
}

static json_t *builder_manifest(const struct builder_image *im, const uint8_t sha[32], size_t size)
{
    const struct builder_spec *s = im->spec;
    json_t *j = json_object(), *mods = json_array(), *devs = json_array();
    char hex[65];
    const struct builder_module *m;

    json_object_set_new(j, "id", json_string(im->res->id));
    json_object_set_new(j, "node", json_string(s->node));
    json_object_set_new(j, "level", json_string(s->level));
    json_object_set_new(j, "target", json_string(s->target));
    for (size_t i = 0; i < s->nmodules; i++) {
        json_t *mo = json_object(), *props = json_object();
        for (size_t k = 0; k < s->modules[i].nprops; k++)
            json_object_set_new(props, s->modules[i].props[k].name,
                                json_string(s->modules[i].props[k].value));
        json_object_set_new(mo, "name", json_string(s->modules[i].name));
        json_object_set_new(mo, "properties", props);
        json_array_append_new(mods, mo);
    }
    json_object_set_new(j, "modules", mods);
    if (builder_module_find(s, "http_server") || builder_module_find(s, "lb_proxy")) {
        json_t *dv = json_pack("{s:s, s:s}", "type", "listen", "name", "http");
        for (size_t i = 0; i < s->nmodules; i++) {
            const char *port = builder_prop(&s->modules[i], "http_port");
            if (port == NULL)
                port = builder_prop(&s->modules[i], "listen_port");
            if (port) {
                json_object_set_new(dv, "port", json_integer(strtoll(port, NULL, 10)));
                break;
            }
        }
        json_array_append_new(devs, dv);
    }
    if ((m = builder_module_find(s, "acl_pep")) != NULL) {
        const char *pdp = builder_prop(m, "pdp");
        json_object_set_new(j, "pdp", json_string(pdp));
        json_object_set_new(j, "policy", json_string(builder_prop(m, "policy")));
        if (strcmp(pdp, "push") == 0)
            json_array_append_new(devs,
                                  json_pack("{s:s, s:s}", "type", "policy", "name", "policy"));
        if (strcmp(pdp, "pull") == 0)
            json_array_append_new(devs, json_pack("{s:s, s:s}", "type", "pdp", "name", "pdp"));
        if (s->acl_blob) {
            const struct engine_acl_blob_header *h = s->acl_blob;
            json_object_set_new(j, "policy_version", json_integer((json_int_t)h->policy_version));
            json_object_set_new(j, "acl_bytes", json_integer((json_int_t)s->acl_len));
        }
    }
    if ((m = builder_module_find(s, "lb_proxy")) != NULL) {
        char names[8][32];
        long ports[8];
        size_t n = 0;
        builder_upstreams(builder_prop(m, "backends"), names, ports, 8, &n);
        for (size_t i = 0; i < n; i++) {
            json_t *dv = json_pack("{s:s, s:s}", "type", "upstream", "name", names[i]);
            if (ports[i] > 0) /* the backend's port as the topology says */
                json_object_set_new(dv, "port", json_integer(ports[i]));
            json_array_append_new(devs, dv);
        }
    }
    json_object_set_new(j, "devices", devs);
    builder_hex(hex, sha, 32);
    json_object_set_new(j, "image_sha256", json_string(hex));
    json_object_set_new(j, "image_bytes", json_integer((json_int_t)size));
    json_object_set_new(j, "builder", json_string(BUILDER_FORMAT));
    return j;
}

/* Appends a command and its output to the build log. */
static void builder_log_cmd(FILE *log, const char *what, const char *output)
{
    fprintf(log, "$ %s\n%s", what, output ? output : "");
    if (output && *output && output[strlen(output) - 1] != '\n')
        fputc('\n', log);
}

static int builder_fail(struct builder_image *im, FILE *log, const char *step, int r,
                        const char *output)
{
    engine_diag_add(&im->diag, NULL, 0, 0, "node %s level %s (%s): %s failed%s%s", im->spec->node,
                    im->spec->level, im->spec->target, step, output && *output ? ":\n" : "",
                    output ? output : "");
    if (log)
        fprintf(log, "FAILED: %s (status %d)\n", step, r);
    return r < 0 ? r : -EIO;
}

static void builder_image_job(void *jobs, size_t i)
{
    struct builder_image *im = &((struct builder_image *)jobs)[i];
    struct builder *b = im->b;
    char *tmp = NULL, *final = NULL, *out = NULL, *logtext = NULL;
    size_t loglen = 0;
    FILE *log = NULL;
    int r = 0;

    final = builder_fmt("%s/%s", im->out_dir, im->res->id);
    if (final == NULL) {
        im->res->status = -ENOMEM;
        return;
    }
    char *img = builder_fmt("%s/image", final);
    if (img && access(img, F_OK) == 0) {
        struct stat st;
        im->res->cached = 1;
        im->res->size = stat(img, &st) == 0 ? (size_t)st.st_size : 0;
        im->res->dir = final;
        free(img);
        return;
    }
    free(img);
    tmp = builder_fmt("%s/.tmp-%s-XXXXXX", im->out_dir, im->res->id);
    if (tmp == NULL || mkdtemp(tmp) == NULL || (log = open_memstream(&logtext, &loglen)) == NULL) {
        r = builder_fail(im, NULL, "creating a temporary directory", -errno, strerror(errno));
        goto cleanup;
    }
    fprintf(log, "unisec builder (%s): node %s, level %s, target %s, image %s\n", BUILDER_FORMAT,
            im->spec->node, im->spec->level, im->spec->target, im->res->id);
    char *path = builder_fmt("%s/config.c", tmp);
    r = path ? builder_write_atomic(path, im->config, strlen(im->config)) : -ENOMEM;
    free(path);
    if (r < 0) {
        r = builder_fail(im, log, "writing config.c", r, strerror(-r));
        goto cleanup;
    }
    char *obj = builder_fmt("%s/config.o", tmp);
    r = obj ? builder_compile(b, tmp, "config.c", obj, &out) : -ENOMEM;
    free(obj);
    builder_log_cmd(log, "cc -c config.c", out);
    if (r != 0) {
        r = builder_fail(im, log, "compiling the configuration", r, out);
        goto cleanup;
    }
    free(out);
    out = NULL;
    char *argv[32];
    size_t k = 0;
    char *ld = builder_fmt("-Wl,-T,%s/%s/unisec.ld", b->src, builder_paths.libos);
    argv[k++] = b->cc;
    argv[k++] = "-nostdlib";
    argv[k++] = "-static";
    argv[k++] = "-no-pie";
    argv[k++] = ld;
    argv[k++] = "-Wl,--build-id=none";
    argv[k++] = "-Wl,-z,noexecstack";
    argv[k++] = "-Wl,-z,max-page-size=4096";
    argv[k++] = "-fno-sanitize=all";
    argv[k++] = "-o";
    argv[k++] = "image";
    argv[k++] = "config.o";
    if (im->spec->acl_blob) {
        char *bp = builder_fmt("%s/acl.blob", tmp), *sp = builder_fmt("%s/acl_blob.S", tmp);
        r = bp && sp ? builder_write_atomic(bp, im->spec->acl_blob, im->spec->acl_len) : -ENOMEM;
        if (r == 0)
            r = builder_write_atomic(sp, builder_blob_asm, strlen(builder_blob_asm));
        free(bp);
        free(sp);
        char *bo = builder_fmt("%s/acl_blob.o", tmp);
        if (r == 0) {
            r = bo ? builder_compile(b, tmp, "acl_blob.S", bo, &out) : -ENOMEM;
            builder_log_cmd(log, "cc -c acl_blob.S", out);
        }
        free(bo);
        if (r != 0) {
            r = builder_fail(im, log, "assembling the compiled rules", r, out);
            free(ld);
            goto cleanup;
        }
        free(out);
        out = NULL;
        argv[k++] = "acl_blob.o";
    }
    argv[k++] = (char *)im->bind;
    argv[k++] = (char *)im->lib;
    argv[k] = NULL;
    r = ld ? builder_run(tmp, argv, &out) : -ENOMEM;
    free(ld);
    builder_log_cmd(log, "cc -nostdlib -static -T unisec.ld -o image ...", out);
    if (r != 0) {
        r = builder_fail(im, log, "linking", r, out);
        goto cleanup;
    }

    char *ip = builder_fmt("%s/image", tmp), *buf = NULL;
    size_t len = 0;
    uint8_t sha[32];
    r = ip ? builder_read(ip, &buf, &len) : -ENOMEM;
    free(ip);
    if (r < 0) {
        r = builder_fail(im, log, "reading the image", r, strerror(-r));
        goto cleanup;
    }
    engine_sha256(sha, buf, len);
    free(buf);
    im->res->size = len;
    json_t *mj = builder_manifest(im, sha, len);
    char *mtext = NULL, *mp = builder_fmt("%s/manifest.json", tmp);
    size_t mlen = 0;
    r = engine_json_dumps(&mtext, &mlen, mj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(mj);
    if (r == 0)
        r = mp ? builder_write_atomic(mp, mtext, mlen) : -ENOMEM;
    free(mtext);
    free(mp);
    if (r < 0) {
        r = builder_fail(im, log, "writing manifest.json", r, strerror(-r));
        goto cleanup;
    }
    fprintf(log, "image: %zu bytes, sha256 ", len);
    char hex[65];
    builder_hex(hex, sha, 32);
    fprintf(log, "%s\n", hex);
    fclose(log);
    log = NULL;
    char *lp = builder_fmt("%s/build.log", tmp);
    r = lp ? builder_write_atomic(lp, logtext, loglen) : -ENOMEM;
    free(lp);
    if (r < 0) {
        r = builder_fail(im, NULL, "writing build.log", r, strerror(-r));
        goto cleanup;
    }
    /* Intermediate files go; the directory becomes the image in one rename. */
    const char *inter[] = {"config.c", "config.o", "acl.blob", "acl_blob.S", "acl_blob.o"};
    for (size_t n = 0; n < sizeof(inter) / sizeof(inter[0]); n++) {
        char *p = builder_fmt("%s/%s", tmp, inter[n]);
        if (p)
            unlink(p);
        free(p);
    }
    if (rename(tmp, final) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            r = builder_fail(im, NULL, "renaming the image into place", -errno, strerror(errno));
            goto cleanup;
        }
        builder_rmtree(tmp); /* a concurrent build of the same inputs won: same bytes */
    }
    free(tmp);
    tmp = NULL;
    im->res->dir = final;
    final = NULL;

cleanup:
    if (log) {
        fclose(log);
        log = NULL;
    }
    if (r != 0 && tmp) {
        /* Keep the failure's log where the user looks: OUT/ID.failed.log. */
        char *fl = builder_fmt("%s/%s.failed.log", im->out_dir, im->res->id);
        if (fl && logtext)
            builder_write_atomic(fl, logtext, loglen);
        free(fl);
        builder_rmtree(tmp);
    }
    im->res->status = r;
    free(logtext);
    free(out);
    free(tmp);
    free(final);
}

int builder_build(struct builder *b, const struct builder_spec *specs, size_t n,
                  const char *out_dir, struct builder_result *results, struct engine_diag *d)
{
    static const char *const targets[] = {"hvt", "spt"};
    char *lib[2] = {NULL, NULL}, *bind[2] = {NULL, NULL};
    uint8_t lib_key[2][32];
    struct builder_image *ims = calloc(n ? n : 1, sizeof(*ims));
    int r = 0, bad = 0;

    memset(results, 0, n * sizeof(*results));
    if (ims == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (builder_spec_check(&specs[i], d) < 0)
            bad = -EINVAL;
    if (bad) {
        free(ims);
        return bad;
    }
    /* Commands run in other directories: every path handed to them is absolute. */
    char *out = NULL;
    if ((r = builder_mkdirs(out_dir)) < 0 || (out = realpath(out_dir, NULL)) == NULL) {
        r = r < 0 ? r : -errno;
        engine_diag_add(d, out_dir, 0, 0, "cannot create the output directory: %s", strerror(-r));
        free(ims);
        return r;
    }
    out_dir = out;
    for (int t = 0; t < 2 && r == 0; t++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(specs[i].target, targets[t]) == 0) {
                r = builder_target(b, targets[t], &lib[t], &bind[t], lib_key[t], d);
                break;
            }
    for (size_t i = 0; i < n && r == 0; i++) {
        int t = strcmp(specs[i].target, "hvt") == 0 ? 0 : 1;
        ims[i] = (struct builder_image){b, &specs[i], out_dir, &results[i], NULL, lib[t], bind[t]};
        if ((ims[i].config = builder_config(&specs[i])) == NULL)
            r = -ENOMEM;
        else
            builder_image_id(&ims[i], lib_key[t]);
    }
    if (r == 0) {
        builder_pool_run(b->jobs, ims, n, builder_image_job);
        for (size_t i = 0; i < n; i++) {
            engine_diag_move(d, &ims[i].diag);
            if (results[i].status != 0 && r == 0)
                r = results[i].status;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(ims[i].config);
        engine_diag_free(&ims[i].diag);
    }
    free(ims);
    free(out);
    for (int t = 0; t < 2; t++) {
        free(lib[t]);
        free(bind[t]);
    }
    return r;
}

void builder_results_free(struct builder_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(results[i].dir);
        results[i].dir = NULL;
    }
}

/* test_csar.c — CSAR archives: the entry definitions found, imports and artifacts inside the
 * archive, and every hostile archive (traversal, absolute names, links, duplicates, bombs,
 * imports that leave it) refused with the archive and the entry named. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>
#include <cmocka.h>

#include "engine/csar.h"
#include "engine/topology.h"

struct ent {
    const char *name;
    const char *data; /* NULL: a directory */
    unsigned mode;    /* Unix mode in the external attributes, 0 for none */
};

#define V12 "tosca_definitions_version: tosca_simple_yaml_1_2\n"
#define META                                                                                       \
    "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: test\n"                          \
    "Entry-Definitions: Definitions/main.yaml\n"
#define SERVER                                                                                     \
    "topology_template:\n  node_templates:\n    server:\n      type: tosca.nodes.Compute\n"

/* A zip of the N entries E, in memory (*LEN bytes; caller frees). */
static unsigned char *make_zip(const struct ent *e, size_t n, size_t *len)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *z;
    unsigned char *buf;
    zip_stat_t st;

    zip_error_init(&ze);
    src = zip_source_buffer_create(NULL, 0, 0, &ze);
    assert_non_null(src);
    zip_source_keep(src);
    z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_int64_t idx;
        if (e[i].data == NULL) {
            idx = zip_dir_add(z, e[i].name, ZIP_FL_ENC_UTF_8);
        } else {
            zip_source_t *s = zip_source_buffer(z, e[i].data, strlen(e[i].data), 0);
            assert_non_null(s);
            idx = zip_file_add(z, e[i].name, s, ZIP_FL_ENC_UTF_8);
        }
        assert_true(idx >= 0);
        if (e[i].mode != 0)
            assert_int_equal(zip_file_set_external_attributes(z, (zip_uint64_t)idx, 0,
                                                              ZIP_OPSYS_UNIX, e[i].mode << 16),
                             0);
    }
    assert_int_equal(zip_close(z), 0);
    assert_int_equal(zip_source_stat(src, &st), 0);
    *len = (size_t)st.size;
    buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(zip_source_open(src), 0);
    assert_int_equal(zip_source_read(src, buf, *len), (zip_int64_t)*len);
    zip_source_close(src);
    zip_source_free(src);
    return buf;
}

/* Replaces every FROM in BUF by TO (same length): names in both headers, or sizes. */
static void patch(unsigned char *buf, size_t len, const void *from, const void *to, size_t n)
{
    int found = 0;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            found = 1;
        }
    assert_true(found);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned get16(const unsigned char *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

/* Sets the uncompressed size that entry NAME declares, in its local and central headers. */
static void patch_size(unsigned char *buf, size_t len, const char *name, uint32_t size)
{
    size_t n = strlen(name);
    int found = 0;

    for (size_t i = 0; i + 46 + n <= len; i++) {
        if (memcmp(buf + i, "PK\3\4", 4) == 0 && get16(buf + i + 26) == n &&
            memcmp(buf + i + 30, name, n) == 0)
            put32(buf + i + 22, size), found |= 1;
        if (memcmp(buf + i, "PK\1\2", 4) == 0 && get16(buf + i + 28) == n &&
            memcmp(buf + i + 46, name, n) == 0)
            put32(buf + i + 24, size), found |= 2;
    }
    assert_int_equal(found, 3);
}

/* Opens and loads BUF; returns the errors joined (caller frees), "" when it loaded. */
static char *load(const unsigned char *buf, size_t len, int *rc, size_t *nodes)
{
    struct engine_csar *c = NULL;
    struct engine_topology *t = NULL;
    struct engine_diag d;
    char *out;

    engine_diag_init(&d);
    *rc = engine_csar_open_buffer(&c, buf, len, "s.csar", &d);
    if (*rc == 0)
        *rc = engine_topology_load_csar(&t, c, &d);
    else
        assert_null(c);
    if (nodes != NULL)
        *nodes = t ? engine_topology_node_count(t) : 0;
    if (*rc != 0)
        assert_null(t);
    out = engine_diag_join(&d);
    assert_non_null(out);
    engine_diag_free(&d);
    engine_topology_free(t);
    engine_csar_free(c);
    return out;
}

static void expect(const struct ent *e, size_t n, const char *want)
{
    size_t len;
    unsigned char *z = make_zip(e, n, &len);
    int rc;
    char *got = load(z, len, &rc, NULL);
    if (strstr(got, want) == NULL)
        fail_msg("expected '%s' in: %s", want, got);
    assert_int_equal(rc, -EINVAL);
    free(got);
    free(z);
}

#define EXPECT(want, ...)                                                                          \
    do {                                                                                           \
        const struct ent e_[] = {__VA_ARGS__};                                                     \
        expect(e_, sizeof(e_) / sizeof(e_[0]), want);                                              \
    } while (0)

static void test_csar_meta_imports(void **state)
{
    const struct ent e[] = {
        {"TOSCA-Metadata/", NULL, 0},
        {"TOSCA-Metadata/TOSCA.meta", META, 0},
        {"Definitions/main.yaml",
         V12 "imports:\n  - ../Types/t.yaml\n  - ./../Types/../Types/t.yaml\n" SERVER
             "      artifacts:\n        img: ../Files/disk.img\n"
             "      interfaces:\n        Standard:\n          create: img\n"
             "          configure:\n            implementation: ../Scripts/c.sh\n",
         0},
        {"Types/t.yaml", V12 "node_types:\n  my.Server:\n    derived_from: tosca.nodes.Compute\n",
         0},
        {"Files/disk.img", "x", 0},
        {"Scripts/c.sh", "#!/bin/sh\n", 0755 | S_IFREG},
        {"Files/readme", "permissions without a file type, as many tools write them", 0644},
    };
    size_t len, nodes;
    unsigned char *z = make_zip(e, sizeof(e) / sizeof(e[0]), &len);
    int rc;
    char *got = load(z, len, &rc, &nodes);

    (void)state;
    assert_string_equal(got, "");
    assert_int_equal(rc, 0);
    assert_int_equal(nodes, 1);
    free(got);
    free(z);
}

static void test_csar_root_yaml(void **state)
{
    const struct ent e[] = {{"README.txt", "hi", 0}, {"service.yml", V12 SERVER, 0}};
    size_t len, nodes;
    unsigned char *z = make_zip(e, 2, &len);
    int rc;
    char *got = load(z, len, &rc, &nodes);
    struct engine_csar *c = NULL;

    (void)state;
    assert_string_equal(got, "");
    assert_int_equal(nodes, 1);
    assert_int_equal(engine_csar_open_buffer(&c, z, len, "s.csar", NULL), 0);
    assert_string_equal(engine_csar_entry(c), "service.yml");
    assert_false(engine_csar_has_meta(c));
    engine_csar_free(c);
    free(got);
    free(z);
    /* 1.0 knows only the archive with TOSCA-Metadata */
    EXPECT("s.csar: error: no TOSCA-Metadata/TOSCA.meta; expected it in an archive of "
           "tosca_simple_yaml_1_0",
           {"a.yaml", "tosca_definitions_version: tosca_simple_yaml_1_0\n" SERVER, 0});
    EXPECT("s.csar: error: no TOSCA-Metadata/TOSCA.meta and 2 YAML files at the top",
           {"a.yaml", V12 SERVER, 0}, {"b.yaml", V12 SERVER, 0});
    EXPECT("and 0 YAML files at the top", {"Definitions/a.yaml", V12 SERVER, 0});
    /* the version in any scalar style */
    EXPECT("s.csar: error: no TOSCA-Metadata/TOSCA.meta; expected it in an archive of "
           "tosca_simple_yaml_1_0",
           {"a.yaml", "tosca_definitions_version: \"tosca_simple_yaml_1_0\"\n" SERVER, 0});
}

static void test_csar_meta_errors(void **state)
{
    (void)state;
    EXPECT("s.csar/TOSCA-Metadata/TOSCA.meta: error: expected the key Entry-Definitions",
           {"TOSCA-Metadata/TOSCA.meta", "Created-By: x\n", 0}, {"a.yaml", V12 SERVER, 0});
    EXPECT("s.csar/TOSCA-Metadata/TOSCA.meta: error: not a YAML mapping",
           {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions, a.yaml\n", 0});
    EXPECT("Entry-Definitions 'b.yaml': no such file in the archive",
           {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: b.yaml\n", 0},
           {"a.yaml", V12 SERVER, 0});
    EXPECT("Entry-Definitions 'Definitions/': no such file in the archive",
           {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: Definitions/\n", 0},
           {"Definitions/", NULL, 0});
}

/* Names that would write outside a directory the archive is unpacked into. */
static void test_csar_names(void **state)
{
    (void)state;
    EXPECT("s.csar: error: entry '../evil.yaml': a '.' or '..' part in its name",
           {"a.yaml", V12 SERVER, 0}, {"../evil.yaml", "x", 0});
    EXPECT("entry 'Definitions/../../evil': a '.' or '..' part", {"a.yaml", V12 SERVER, 0},
           {"Definitions/../../evil", "x", 0});
    EXPECT("entry '/etc/cron.d/x': an absolute path", {"a.yaml", V12 SERVER, 0},
           {"/etc/cron.d/x", "x", 0});
    EXPECT("entry 'C:/x': an absolute path", {"a.yaml", V12 SERVER, 0}, {"C:/x", "x", 0});
    EXPECT("entry '..\\evil': a backslash", {"a.yaml", V12 SERVER, 0}, {"..\\evil", "x", 0});
    EXPECT("entry 'a//b': an empty part", {"a.yaml", V12 SERVER, 0}, {"a//b", "x", 0});
    EXPECT("a control character", {"a.yaml", V12 SERVER, 0}, {"a\nb", "x", 0});
}

static void test_csar_kinds(void **state)
{
    (void)state;
    EXPECT("s.csar/Files/link: error: a symbolic link; expected a file or a directory",
           {"a.yaml", V12 SERVER, 0}, {"Files/link", "/etc/shadow", S_IFLNK | 0777});
    EXPECT("s.csar/fifo: error: a special file", {"a.yaml", V12 SERVER, 0},
           {"fifo", "", S_IFIFO | 0644});
}

static void test_csar_duplicates(void **state)
{
    const struct ent e[] = {
        {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: dup1.yaml\n", 0},
        {"dup1.yaml", V12 SERVER, 0},
        {"dup2.yaml", V12 "# the other one\n" SERVER, 0},
    };
    size_t len;
    unsigned char *z = make_zip(e, 3, &len);
    int rc;
    char *got;

    (void)state;
    patch(z, len, "dup2.yaml", "dup1.yaml", 9);
    got = load(z, len, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    /* libzip refuses it as it opens the archive (ZIP_CHECKCONS), before unisec's own check,
     * which sees a file and a directory of one name */
    if (strstr(got, "s.csar: error: a name is in the archive twice") == NULL)
        fail_msg("expected a duplicate: %s", got);
    free(got);
    free(z);
    EXPECT("s.csar/x/: error: this name is in the archive twice", {"a.yaml", V12 SERVER, 0},
           {"x", "x", 0}, {"x/", NULL, 0});
}

static void test_csar_imports_stay_inside(void **state)
{
    (void)state;
    EXPECT("s.csar/a.yaml:3:5: error: import '../../etc/passwd': it leaves the archive",
           {"a.yaml", V12 "imports:\n  - ../../etc/passwd\n" SERVER, 0});
    EXPECT("s.csar/d/a.yaml:3:5: error: import '../../x.yaml': it leaves the archive",
           {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: d/a.yaml\n", 0},
           {"d/a.yaml", V12 "imports:\n  - ../../x.yaml\n" SERVER, 0});
    EXPECT("import '/etc/passwd': an absolute path",
           {"a.yaml", V12 "imports:\n  - /etc/passwd\n" SERVER, 0});
    EXPECT("import 'b.yaml': b.yaml is not a file of the archive s.csar",
           {"a.yaml", V12 "imports:\n  - b.yaml\n" SERVER, 0});
    EXPECT("import 'https://example.com/t.yaml': expected a local file, not a URL",
           {"a.yaml", V12 "imports:\n  - https://example.com/t.yaml\n" SERVER, 0});
    /* an import cycle is refused where it closes; a diamond is read once */
    EXPECT(
        "s.csar/d/b.yaml:3:5: error: import '../a.yaml': a cycle of imports back to s.csar/a.yaml",
        {"a.yaml", V12 "imports:\n  - d/b.yaml\n" SERVER, 0},
        {"d/b.yaml", V12 "imports:\n  - ../a.yaml\n", 0});
    EXPECT("s.csar/d/b.yaml:3:5: error: import 'b.yaml': the file imports itself",
           {"a.yaml", V12 "imports:\n  - d/b.yaml\n" SERVER, 0},
           {"d/b.yaml", V12 "imports:\n  - b.yaml\n", 0});
    const struct ent diamond[] = {
        {"a.yaml", V12 "imports:\n  - d/b.yaml\n  - d/c.yaml\n" SERVER, 0},
        {"d/b.yaml", V12 "imports:\n  - c.yaml\n", 0},
        {"d/c.yaml", V12 "data_types: {my.D: {derived_from: string}}\n", 0},
    };
    size_t len;
    unsigned char *z = make_zip(diamond, 3, &len);
    int rc;
    char *got = load(z, len, &rc, NULL);
    assert_string_equal(got, "");
    free(got);
    free(z);
}

static void test_csar_artifacts(void **state)
{
    (void)state;
    EXPECT("s.csar/a.yaml:7:14: error: node server: artifact 'disk.img': disk.img is not a file "
           "of the archive s.csar",
           {"a.yaml", V12 SERVER "      artifacts:\n        img: disk.img\n", 0});
    EXPECT("node server: artifact '../x': it leaves the archive",
           {"a.yaml", V12 SERVER "      artifacts:\n        img:\n          file: ../x\n", 0});
    EXPECT("node server: implementation 'install.sh': install.sh is not a file",
           {"a.yaml",
            V12 SERVER "      interfaces:\n        Standard:\n          create: install.sh\n", 0});
    EXPECT("node server: implementation 'p.sh': p.sh is not a file",
           {"a.yaml",
            "tosca_definitions_version: tosca_simple_yaml_1_3\n" SERVER
            "      interfaces:\n        Standard:\n          operations:\n            create:\n"
            "              implementation:\n                primary: p.sh\n",
            0});
}

static void test_csar_bombs(void **state)
{
    const struct ent big[] = {{"a.yaml", V12 SERVER, 0}, {"big.bin", "0123456789", 0}};
    const struct ent small[] = {{"a.yaml", V12 SERVER "# padding, 40 bytes of it........\n", 0}};
    size_t len, n = ENGINE_CSAR_ENTRIES_MAX + 1;
    unsigned char *z;
    struct ent *many = calloc(n, sizeof(*many));
    char(*names)[16] = calloc(n, 16);
    int rc;
    char *got;

    (void)state;
    /* a size that unpacks past the bound: refused before anything is read */
    z = make_zip(big, 2, &len);
    patch_size(z, len, "big.bin", 0xfffffff0u);
    got = load(z, len, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    if (strstr(got, "s.csar: error: its entries unpack to more than 256 MiB (at 'big.bin'); "
                    "expected a smaller archive") == NULL)
        fail_msg("expected a bomb refused: %s", got);
    free(got);
    free(z);
    /* an entry longer than it says: its read stops at the declared size and is refused */
    z = make_zip(small, 1, &len);
    patch_size(z, len, "a.yaml", (uint32_t)strlen(small[0].data) - 30);
    got = load(z, len, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    if (strstr(got, "s.csar/a.yaml: error: damaged entry: longer than its declared size") == NULL)
        fail_msg("expected a damaged entry: %s", got);
    free(got);
    free(z);
    /* too many entries */
    assert_non_null(many);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], 16, "f%zu", i);
        many[i].name = names[i];
        many[i].data = "";
    }
    many[0].name = "a.yaml";
    many[0].data = V12 SERVER;
    z = make_zip(many, n, &len);
    got = load(z, len, &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(got, "s.csar: error: 4097 entries; expected at most 4096"));
    free(got);
    free(z);
    free(many);
    free(names);
}

static void test_csar_not_zip(void **state)
{
    struct engine_csar *c = NULL;
    struct engine_diag d;
    char *got;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_csar_open_buffer(&c, "PK\3\4garbage", 11, "s.csar", &d), -EINVAL);
    assert_null(c);
    got = engine_diag_join(&d);
    assert_non_null(strstr(got, "s.csar: error: not a readable zip archive"));
    free(got);
    engine_diag_free(&d);
    assert_int_equal(engine_csar_open_buffer(&c, "", 0, "s.csar", NULL), -EINVAL);
    assert_int_equal(engine_csar_open(&c, "tests", NULL), -EINVAL);
    assert_true(engine_csar_is_archive("x.CSAR"));
    assert_true(engine_csar_is_archive("x.zip"));
    assert_false(engine_csar_is_archive("mount-examples/paper.yaml"));
}

static void test_csar_resolve(void **state)
{
    static const char *const ok[][3] = {
        {"", "a.yaml", "a.yaml"},
        {"d", "a.yaml", "d/a.yaml"},
        {"d/e", "../a.yaml", "d/a.yaml"},
        {"d", "./x/../a.yaml", "d/a.yaml"},
        {"d", "..", ""},
        {"", "x//y", "x/y"},
    };
    static const char *const bad[][2] = {
        {"", "../a"}, {"d", "../../a"}, {"d", "/a"}, {"", "x/../../a"}};
    const char *why;
    char *out;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(engine_csar_resolve(ok[i][0], ok[i][1], &out, &why), 0);
        assert_string_equal(out, ok[i][2]);
        free(out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(engine_csar_resolve(bad[i][0], bad[i][1], &out, &why), -EINVAL);
        assert_null(out);
    }
}

/* Flattens the archive E (which must load) and loads the result as the store does; *KEPT gets
 * the other files' entries and sizes, "NAME:LEN " each (caller frees). */
static char *flatten(const struct ent *e, size_t n, int *rc, size_t *nodes, char **kept)
{
    struct engine_csar *c = NULL;
    struct engine_topology *t = NULL;
    struct engine_csar_file *files = NULL;
    struct engine_diag d;
    size_t len, flen = 0, nfiles = 0, klen = 0;
    unsigned char *z = make_zip(e, n, &len);
    char *flat = NULL, *out;
    FILE *k = open_memstream(kept, &klen);

    assert_non_null(k);
    engine_diag_init(&d);
    assert_int_equal(engine_csar_open_buffer(&c, z, len, "s.csar", &d), 0);
    assert_int_equal(engine_topology_load_csar(&t, c, &d), 0);
    engine_topology_free(t);
    t = NULL;
    *rc = engine_csar_flatten_files(c, &flat, &flen, &files, &nfiles, &d);
    if (*rc == 0) {
        assert_null(memchr(flat, 0, flen));
        assert_null(strstr(flat, "imports"));
        *rc = engine_topology_load_buffer(&t, flat, flen, "topology.yaml", NULL, &d);
        *nodes = t ? engine_topology_node_count(t) : 0;
    } else {
        assert_null(files);
        assert_int_equal(nfiles, 0);
    }
    for (size_t i = 0; i < nfiles; i++)
        fprintf(k, "%s:%zu ", files[i].entry, files[i].len);
    fclose(k);
    engine_csar_files_free(files, nfiles);
    out = engine_diag_join(&d);
    assert_non_null(out);
    engine_diag_free(&d);
    engine_topology_free(t);
    engine_csar_free(c);
    free(flat);
    free(z);
    return out;
}

static void test_csar_flatten(void **state)
{
    const struct ent e[] = {
        {"TOSCA-Metadata/TOSCA.meta", META, 0},
        {"Definitions/main.yaml",
         V12 "imports:\n  - ../Types/t.yaml\n  - name: {file: ../Types/u.yaml}\n"
             "node_types:\ndata_types:\n  my.Local:\n    derived_from: tosca.datatypes.Root\n"
             "dsl_definitions:\n  c: &c {num_cpus: 2}\n" SERVER
             "      capabilities:\n        host:\n          properties: *c\n"
             "      artifacts: {setup: ../Scripts/setup.sh}\n"
             "    other:\n      type: my.Other\n",
         0},
        {"Types/t.yaml",
         V12 "description: not merged\nnode_types:\n  my.Server:\n"
             "    derived_from: tosca.nodes.Compute\n",
         0},
        {"Types/u.yaml",
         V12 "imports:\n  - t.yaml\nnode_types:\n  my.Other:\n    derived_from: my.Server\n"
             "data_types:\n  my.Data:\n    derived_from: tosca.datatypes.Root\n"
             "topology_template:\n  node_templates:\n    ignored: {type: my.Server}\n",
         0},
        {"Scripts/", NULL, 0},
        {"Scripts/setup.sh", "#!/bin/sh\n", 0},
        {"Types/unused.yaml", V12, 0}, /* imported by nothing: kept as a file */
    };
    /* an import with a namespace: merged by the names the loader reads it by */
    const struct ent ns[] = {
        {"a.yaml",
         "tosca_definitions_version: tosca_simple_yaml_1_0\nimports:\n"
         "  - {file: t.yaml, namespace_prefix: p, namespace_uri: 'http://example.org/p'}\n"
         "  - second: {file: t.yaml, namespace_prefix: q}\n" SERVER "    s2: {type: p.Server}\n",
         0},
        {"t.yaml",
         "tosca_definitions_version: tosca_simple_yaml_1_0\n"
         "node_types:\n  p.Server: {derived_from: tosca.nodes.Compute}\n",
         0},
        {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: a.yaml\n", 0},
    };
    int rc;
    size_t nodes = 0;
    char *got, *kept = NULL;

    (void)state;
    got = flatten(e, sizeof(e) / sizeof(e[0]), &rc, &nodes, &kept);
    assert_string_equal(got, "");
    assert_int_equal(rc, 0);
    assert_int_equal(nodes, 2);
    {
        char want[128];
        snprintf(want, sizeof(want),
                 "Scripts/setup.sh:10 TOSCA-Metadata/TOSCA.meta:%zu Types/unused.yaml:%zu ",
                 strlen(META), strlen(V12));
        assert_string_equal(kept, want);
    }
    free(kept);
    free(got);
    got = flatten(ns, sizeof(ns) / sizeof(ns[0]), &rc, &nodes, &kept);
    assert_string_equal(got, "");
    assert_int_equal(rc, 0);
    assert_int_equal(nodes, 2);
    assert_string_equal(kept, "TOSCA-Metadata/TOSCA.meta:26 ");
    free(kept);
    free(got);
}

/* An import's namespace_prefix: the merged file has no imports, so a qualified type name
 * (PREFIX:NAME) is merged as NAME, while data that looks like one (a property's value) stays. */
static void test_csar_flatten_prefix(void **state)
{
#define V13 "tosca_definitions_version: tosca_simple_yaml_1_3\n"
    const struct ent e[] = {
        {"a.yaml",
         V13 "imports:\n  - {file: t.yaml, namespace_prefix: p}\n"
             "node_types:\n  my.Big:\n    derived_from: p:my.Server\n"
             "    properties:\n      type: {type: string}\n"
             "      size: {type: p:my.Size, required: false}\n"
             "topology_template:\n  node_templates:\n    s: {type: p:my.Server}\n"
             "    b: {type: my.Big, properties: {type: 'p:kept'}}\n"
             "    c: {type: tosca:Compute}\n",
         0},
        {"t.yaml",
         V13 "node_types:\n  my.Server: {derived_from: tosca.nodes.Compute}\n"
             "data_types:\n  my.Size: {derived_from: tosca.datatypes.Root}\n",
         0},
        {"TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: a.yaml\n", 0},
    };
    struct engine_csar *c = NULL;
    struct engine_topology *t = NULL;
    struct engine_diag d;
    size_t len, flen = 0;
    unsigned char *z = make_zip(e, 3, &len);
    char *flat = NULL;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_csar_open_buffer(&c, z, len, "s.csar", &d), 0);
    assert_int_equal(engine_csar_flatten(c, &flat, &flen, &d), 0);
    assert_null(strstr(flat, "p:my."));
    assert_non_null(strstr(flat, "p:kept"));
    assert_non_null(strstr(flat, "tosca:Compute"));
    assert_int_equal(engine_topology_load_buffer(&t, flat, flen, "topology.yaml", NULL, &d), 0);
    assert_int_equal(engine_topology_node_count(t), 3);
    assert_string_equal(engine_topology_node_at(t, 0)->type, "my.Server");
    engine_topology_free(t);
    engine_diag_free(&d);
    engine_csar_free(c);
    free(flat);
    free(z);
#undef V13
}

/* What a store keeps of an archive is bounded, checked on the sizes entries declare. */
static void test_csar_keep_bound(void **state)
{
    size_t big = ENGINE_CSAR_KEEP_MAX + 1, nodes = 0;
    char *data = malloc(big + 1), *got, *kept = NULL;
    int rc;

    (void)state;
    assert_non_null(data);
    memset(data, 'x', big);
    data[big] = '\0';
    const struct ent e[] = {{"a.yaml", V12 SERVER, 0}, {"Files/big.img", data, 0}};
    got = flatten(e, 2, &rc, &nodes, &kept);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(got, "s.csar: error: its files other than the definitions pass 64 MiB at "
                             "Files/big.img; a store keeps at most that much of an archive");
    assert_string_equal(kept, "");
    free(kept);
    free(got);
    free(data);
}

/* Whether a template on its own imports a file (`init --from` reads its directory then). */
static void test_csar_template_imports(void **state)
{
    static const struct {
        const char *yaml;
        int want;
    } v[] = {
        {V12 "imports:\n  - types.yaml\n", 1},
        {V12 "imports:\n  types: {file: types.yaml}\n", 1},
        {V12 "imports: []\n", 0},
        {V12 "imports: {}\n", 0},
        {V12 "imports: types.yaml\n", 0}, /* not a list: the load says so */
        {V12 SERVER, 0},
        {"- imports\n", 0},
        {"imports: [\n", 0}, /* not YAML */
        {"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(engine_csar_template_imports(v[i].yaml, strlen(v[i].yaml)), v[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csar_meta_imports),
        cmocka_unit_test(test_csar_root_yaml),
        cmocka_unit_test(test_csar_meta_errors),
        cmocka_unit_test(test_csar_names),
        cmocka_unit_test(test_csar_kinds),
        cmocka_unit_test(test_csar_duplicates),
        cmocka_unit_test(test_csar_imports_stay_inside),
        cmocka_unit_test(test_csar_artifacts),
        cmocka_unit_test(test_csar_bombs),
        cmocka_unit_test(test_csar_not_zip),
        cmocka_unit_test(test_csar_resolve),
        cmocka_unit_test(test_csar_flatten),
        cmocka_unit_test(test_csar_flatten_prefix),
        cmocka_unit_test(test_csar_keep_bound),
        cmocka_unit_test(test_csar_template_imports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

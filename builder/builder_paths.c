/* builder_paths.c — where the guest is in the source tree: every path the builder knows, in
 * one table, so that moving guest code changes only this file. */
#include "builder_int.h"

#include <stdlib.h>

/* Guest sources, relative to the source tree: globs expanded in sorted order. */
static const char *const builder_unit_globs[] = {"guest/libos/*.c", "guest/modules/*.c",
                                                 "guest/modules/*/*.c", "common/*.c", NULL};
static const char *const builder_header_globs[] = {"guest/libos/*.h",
                                                   "guest/libos/*.ld",
                                                   "guest/modules/*.h",
                                                   "guest/modules/*/*.h",
                                                   "common/*.h",
                                                   "contract/*.h",
                                                   NULL};

const struct builder_paths builder_paths = {
    .units = builder_unit_globs,
    .headers = builder_header_globs,
    .libos = "guest/libos",
    .modules = "guest/modules",
    .module_h = "guest/modules/module.h",
    .tls_modules = {"guest/modules/tls/", "guest/modules/tls_upstream/"},
};

const char *builder_source_dir(void)
{
    const char *e = getenv(BUILDER_SOURCE_ENV);
    return e && *e ? e : engine_share_dir();
}

/*
 * fuzz_csar.c — libFuzzer harness for the CSAR opener (engine/csar.h): the input as a zip
 * archive, opened, its entry definitions loaded with their imports inside the archive. The
 * opener must refuse or accept without a crash, a leak or a read past its bounds, and an
 * archive it accepts must name an entry definitions file that it holds. A template that
 * loads is merged into one file as `unisec init --from` does, its other files kept
 * (engine_csar_flatten_files()): each a file of the archive, none of them the entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/csar.h"
#include "engine/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct engine_csar *c = NULL;
    struct engine_topology *t = NULL;
    struct engine_diag d;

    engine_diag_init(&d);
    if (engine_csar_open_buffer(&c, data, size, "fuzz.csar", &d) == 0) {
        if (!engine_csar_has_file(c, engine_csar_entry(c)))
            abort();
        if (engine_topology_load_csar(&t, c, &d) == 0) {
            struct engine_csar_file *files = NULL;
            char *flat = NULL;
            size_t len = 0, n = 0;
            engine_csar_flatten_files(c, &flat, &len, &files, &n, &d);
            for (size_t i = 0; i < n; i++)
                if (!engine_csar_has_file(c, files[i].entry) ||
                    strcmp(files[i].entry, engine_csar_entry(c)) == 0)
                    abort();
            engine_csar_files_free(files, n);
            free(flat);
        }
        engine_topology_free(t);
        engine_csar_free(c);
    } else if (c != NULL || d.n == 0) {
        abort(); /* a refusal says why and leaves nothing */
    }
    engine_diag_free(&d);
    return 0;
}

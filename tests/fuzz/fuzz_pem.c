/* fuzz_pem.c — what a write to nodes/NODE/tls/cert or key goes through (fs/fs_tls.c): the
 * text split into its private-key objects and the rest (engine_tls_split()), then both checked
 * together (engine_tls_check(): PEM, X.509, the key and whether it is the chain's); and what
 * the remote's hook scans every pushed file with (engine_tls_key_line()). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *key = NULL, *cert = NULL;
    size_t key_len = 0, cert_len = 0;
    void *blob = NULL;
    size_t blob_len = 0;
    struct engine_diag d;

    (void)engine_tls_key_line((const char *)data, size);
    if (engine_tls_split((const char *)data, size, &key, &key_len, &cert, &cert_len) < 0)
        return 0;
    struct engine_tls_input in = {.cert = cert,
                                  .cert_len = cert_len,
                                  .key = key_len > 0 ? key : NULL,
                                  .key_len = key_len,
                                  .cert_name = "cert",
                                  .key_name = "key",
                                  .now = 1800000000};
    engine_diag_init(&d);
    if (engine_tls_check(&in, NULL, &blob, &blob_len, &d) == 0 && blob != NULL)
        explicit_bzero(blob, blob_len);
    free(blob);
    engine_diag_free(&d);
    explicit_bzero(key, key_len);
    free(key);
    free(cert);
    return 0;
}

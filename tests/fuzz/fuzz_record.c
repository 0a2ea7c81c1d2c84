/*
 * fuzz_record.c — libFuzzer harness for a deployment record as anyone who may push to a
 * store's remote can write it (unisec hook pre-receive reads it, as unisec verify does):
 * the input is the commit message, a NUL byte, then the record's state/deployed text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orch/orch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul != NULL ? (size_t)(nul - data) : size;
    char *msg = malloc(mlen + 1), *text = NULL;
    struct orch_record_info info;
    struct engine_diag d;

    if (msg == NULL)
        return 0;
    memcpy(msg, data, mlen);
    msg[mlen] = '\0';
    if (nul != NULL) {
        size_t tlen = size - mlen - 1;
        if ((text = malloc(tlen + 1)) == NULL) {
            free(msg);
            return 0;
        }
        memcpy(text, nul + 1, tlen);
        text[tlen] = '\0';
    }
    engine_diag_init(&d);
    if (orch_record_parse(&info, msg, text, &d) == 0 &&
        (strlen(info.realises) != 40 || info.node[0] == '\0' || info.image[0] == '\0'))
        abort();
    engine_diag_free(&d);
    free(msg);
    free(text);
    return 0;
}

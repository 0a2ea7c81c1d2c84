/* test_json.c — engine_json_dumps(): the text of a JSON value, or -ENOMEM, never a document
 * with bytes missing. Every allocation (jansson's, and the output buffer's realloc through a
 * link-time wrapper) fails in turn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/json.h"

/* The allocation that fails: the FAIL_AT-th from now (0: none). */
static unsigned long alloc_count, fail_at;

static int alloc_fails(void)
{
    return fail_at != 0 && ++alloc_count == fail_at;
}

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : __real_realloc(p, n);
}

static void *json_test_malloc(size_t n)
{
    return alloc_fails() ? NULL : malloc(n);
}

/* An object whose text grows the buffer several times, mostly while keys are written (long
 * keys, short values: where jansson 2.14's json_dumps() drops bytes), with keys that need
 * escaping, a nested array. */
static json_t *sample(void)
{
    json_t *o = json_object(), *a = json_array();
    char key[300];

    assert_non_null(o);
    assert_non_null(a);
    for (int i = 0; i < 300; i++) {
        memset(key, 'k', 240);
        snprintf(key + 240, sizeof(key) - 240, " \"%d\" \\ \xc3\xa9", i);
        assert_int_equal(json_object_set_new(o, key, json_integer(i)), 0);
        assert_int_equal(json_array_append_new(a, json_integer(i)), 0);
    }
    assert_int_equal(json_object_set_new(o, "list", a), 0);
    return o;
}

static void test_json_dumps_whole_text(void **state)
{
    json_t *j = sample();
    char *text, *back_text;
    size_t len, back_len;
    json_t *back;

    (void)state;
    assert_int_equal(engine_json_dumps(&text, &len, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
    assert_int_equal(strlen(text), len);
    assert_int_equal(text[len - 1], '\n');
    assert_non_null(back = json_loads(text, 0, NULL));
    assert_true(json_equal(back, j));
    assert_int_equal(
        engine_json_dumps(&back_text, &back_len, back, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
    assert_string_equal(back_text, text);
    free(back_text);
    assert_int_equal(engine_json_dumps(&back_text, NULL, NULL, 0), -ENOMEM);
    assert_null(back_text);
    free(text);
    json_decref(back);
    json_decref(j);
}

/* Failing each allocation in turn gives -ENOMEM or the whole text: never a part of it. */
static void test_json_dumps_out_of_memory_is_an_error(void **state)
{
    json_t *j = sample();
    char *want, *text;
    size_t want_len, len;
    int failures = 0;

    (void)state;
    assert_int_equal(engine_json_dumps(&want, &want_len, j, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
    json_set_alloc_funcs(json_test_malloc, free);
    for (fail_at = 1;; fail_at++) {
        alloc_count = 0;
        int r = engine_json_dumps(&text, &len, j, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (r == 0) {
            assert_int_equal(len, want_len);
            assert_string_equal(text, want);
            free(text);
            if (alloc_count < fail_at)
                break; /* no allocation was left to fail */
            continue;
        }
        assert_int_equal(r, -ENOMEM);
        assert_null(text);
        failures++;
    }
    fail_at = 0;
    json_set_alloc_funcs(malloc, free);
    assert_true(failures > 0);
    print_message("%d allocation failures, each an error\n", failures);
    free(want);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_dumps_whole_text),
        cmocka_unit_test(test_json_dumps_out_of_memory_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

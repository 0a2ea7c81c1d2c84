/*
 * test_topology_threads.c — topologies loaded by several threads at once from a fresh process:
 * the first loads race to parse the shared normative TOSCA types; every load must succeed and
 * see the same model (run under ThreadSanitizer or AddressSanitizer for the races themselves).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/topology.h"
#include "engine/topology_int.h"

#define THREADS 4
#define LOADS   5

static void *load_some(void *arg)
{
    long ok = 0;
    (void)arg;
    for (int i = 0; i < LOADS; i++) {
        struct engine_topology *t = NULL;
        if (engine_topology_load_file(&t, "mount-examples/three-tier/topology.yaml", NULL) == 0 &&
            engine_topology_node_count(t) > 0)
            ok++;
        engine_topology_free(t);
    }
    return (void *)ok;
}

static void test_topology_threads_cold(void **state)
{
    pthread_t th[THREADS];

    (void)state;
    assert_false(topo_normative_ready());
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, load_some, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ok;
        assert_int_equal(pthread_join(th[i], &ok), 0);
        assert_int_equal((long)ok, LOADS);
    }
    assert_true(topo_normative_ready());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_threads_cold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

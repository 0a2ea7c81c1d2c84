/* topology_gen.c — a large generated topology for tests and benchmarks (topology_gen.h). */
#include "topology_gen.h"

#include <errno.h>

int topology_gen_write(FILE *f, int nodes, int shift)
{
    fputs("tosca_definitions_version: tosca_simple_yaml_1_2\n"
          "unikernel_modules:\n"
          "  webserver_unikernel_type:\n"
          "    http_server:\n"
          "      capabilities: {http_processing: tosca.capabilities.Endpoint}\n"
          "      requirements: [{available_nic: unikernel.virtualenv.networking.nic}]\n"
          "    log:\n"
          "      capabilities: {console_logging: unikernel.virtualenv.console}\n"
          "    dispatch:\n"
          "      properties: {http_port: {type: integer}}\n"
          "      capabilities: {webserver_front: tosca.capabilities.Endpoint}\n"
          "      requirements:\n"
          "        - {http_processing: tosca.capabilities.Endpoint}\n"
          "        - {console_logging: unikernel.virtualenv.console}\n"
          "security_functions:\n"
          "  regular_access_control: {mechanism: access_control, pdp: push, policy: regular}\n"
          "  restricted_access_control: {mechanism: access_control, pdp: internal, policy: "
          "restricted}\n"
          "topology_template:\n"
          "  node_templates:\n",
          f);
    /* 7919 is prime: i -> (7919 i + shift) mod nodes visits every name once. */
    for (int i = 0; i < nodes; i++)
        fprintf(f,
                "    n%d:\n"
                "      type: webserver_unikernel_type\n"
                "      properties:\n"
                "        http_port: %d\n"
                "        vm_security_level:\n"
                "          multi_level_security:\n"
                "            default_security_level: regular_access_control\n"
                "            critical_security_level: restricted_access_control\n",
                (int)(((long)i * 7919 + shift) % nodes), 10000 + i);
    return ferror(f) ? -EIO : 0;
}

/* topology_normative.S — tosca_normative.yaml in the engine, NUL-terminated
 * (topology_defs.c reads it). TOPO_NORMATIVE_FILE is its path, given by meson. */
    .section .rodata
    .global topo_normative_yaml
    .global topo_normative_yaml_end
topo_normative_yaml:
    .incbin TOPO_NORMATIVE_FILE
topo_normative_yaml_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits

/* topology.h — placeholder until the topology model lands (owned by the topology work). */
#ifndef UNISEC_ENGINE_TOPOLOGY_H
#define UNISEC_ENGINE_TOPOLOGY_H
#endif

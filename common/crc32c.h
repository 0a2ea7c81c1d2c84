/*
 * crc32c.h — CRC-32C (Castagnoli; the checksum of iSCSI, ext4 metadata and SCTP): a fast check
 * that bytes are those a writer summed, where their SHA-256 is known but costs too much to
 * compute again (an internal PDP's rules region, contract/abi.h: 41 MB at a million rules).
 * Not a defence against whoever can rewrite the bytes and the sum; SHA-256 is no more one
 * there, as the blob's own checksum is as unkeyed.
 *
 * Freestanding, as sha256.c: the guest compiles the same file. With SSE4.2 (the crc32
 * instruction on three blocks side by side, some 60 times the table's speed) when the
 * processor has it.
 */
#ifndef UNISEC_COMMON_CRC32C_H
#define UNISEC_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of DATA[0..LEN): 0xe3069283 for "123456789", 0 for nothing. */
uint32_t engine_crc32c(const void *data, size_t len);

/* The CRC-32C of bytes whose start summed to CRC, continued with DATA[0..LEN): summing
 * a buffer in pieces gives its engine_crc32c() (0 to start with). */
uint32_t engine_crc32c_more(uint32_t crc, const void *data, size_t len);

/* Tells the code what the processor has, from CPUID leaf 1 ECX (a guest's boot info: it
 * cannot ask). Before any call, the host asks the processor itself. */
void engine_crc32c_cpu(uint32_t leaf1_ecx);

#endif

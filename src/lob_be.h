/* lob_be.h: big-endian field loads for wire formats (ITCH), unaligned-safe. */
#ifndef LOB_BE_H
#define LOB_BE_H

#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER)
#include <stdlib.h>
#define LOB_BSWAP16(x) _byteswap_ushort(x)
#define LOB_BSWAP32(x) _byteswap_ulong(x)
#define LOB_BSWAP64(x) _byteswap_uint64(x)
#else
#define LOB_BSWAP16(x) __builtin_bswap16(x)
#define LOB_BSWAP32(x) __builtin_bswap32(x)
#define LOB_BSWAP64(x) __builtin_bswap64(x)
#endif

static inline uint16_t lob_be16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return LOB_BSWAP16(v); }
static inline uint32_t lob_be32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return LOB_BSWAP32(v); }
static inline uint64_t lob_be64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return LOB_BSWAP64(v); }
/* 6-byte ITCH timestamp: the 2 bytes before it are read too, then dropped
 * (every ITCH field of 6 bytes has at least 2 bytes of message before it). */
static inline uint64_t lob_be48(const unsigned char *p) { return lob_be64(p - 2) & 0xFFFFFFFFFFFFull; }

#endif /* LOB_BE_H */

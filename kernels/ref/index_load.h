/* Reading one integer index of an int16, int32 or int64 index tensor (GATHER, GATHER_ND, the data-index ops):
 * `size` is the element size in bytes (2, 4 or 8), read with memcpy so any alignment is fine. Internal to the
 * reference kernels; not part of the cffi cdef. */
#ifndef EDGERUN_REF_INDEX_LOAD_H
#define EDGERUN_REF_INDEX_LOAD_H

#include <stdint.h>
#include <string.h>

static inline int64_t er_load_index(const void *base, int64_t i, int size) {
  if (size == 8) {
    int64_t v;
    memcpy(&v, (const unsigned char *)base + i * 8, 8);
    return v;
  }
  if (size == 4) {
    int32_t v;
    memcpy(&v, (const unsigned char *)base + i * 4, 4);
    return v;
  }
  int16_t v;
  memcpy(&v, (const unsigned char *)base + i * 2, 2);
  return v;
}

#endif

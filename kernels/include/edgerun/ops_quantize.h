/* Params of the quantize kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_QUANTIZE_H
#define EDGERUN_OPS_QUANTIZE_H
#include "edgerun/core.h"

#endif

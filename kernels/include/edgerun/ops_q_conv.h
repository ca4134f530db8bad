/* Params of the integer (int8/uint8/int16, hybrid) conv kernels. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_Q_CONV_H
#define EDGERUN_OPS_Q_CONV_H
#include "edgerun/core.h"

#endif

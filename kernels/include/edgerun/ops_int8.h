/* Params of the int8 kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_INT8_H
#define EDGERUN_OPS_INT8_H
#include "edgerun/core.h"

#endif

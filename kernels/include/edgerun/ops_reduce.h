/* Params of the reduce kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_REDUCE_H
#define EDGERUN_OPS_REDUCE_H
#include "edgerun/core.h"

#endif

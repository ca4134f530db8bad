/* Params of the elementwise kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_ELEMENTWISE_H
#define EDGERUN_OPS_ELEMENTWISE_H
#include "edgerun/core.h"

#endif

/* Params of the shape kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_SHAPE_H
#define EDGERUN_OPS_SHAPE_H
#include "edgerun/core.h"

#endif

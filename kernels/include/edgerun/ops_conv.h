/* Params of the conv kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_CONV_H
#define EDGERUN_OPS_CONV_H
#include "edgerun/core.h"

#endif

/* Params of the misc kernel family. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_MISC_H
#define EDGERUN_OPS_MISC_H
#include "edgerun/core.h"

#endif

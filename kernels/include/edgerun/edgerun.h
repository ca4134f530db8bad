/* edgerun public C header: the core ABI plus every kernel family's params structs. */
#ifndef EDGERUN_H
#define EDGERUN_H
#include "edgerun/core.h"
#include "edgerun/ops.h"
#endif

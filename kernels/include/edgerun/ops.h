/* Params structs of all kernel families. One header per family, included here; kernels/build.py reads
 * the same list (core.h first, then this file's includes in order) to build cffi's cdef. */
#ifndef EDGERUN_OPS_H
#define EDGERUN_OPS_H
#include "edgerun/ops_conv.h"
#include "edgerun/ops_elementwise.h"
#include "edgerun/ops_reduce.h"
#include "edgerun/ops_shape.h"
#include "edgerun/ops_misc.h"
#include "edgerun/ops_quantize.h"
#include "edgerun/ops_q_conv.h"
#include "edgerun/ops_q_elementwise.h"
#include "edgerun/ops_q_reduce.h"
#include "edgerun/ops_lstm.h"
#include "edgerun/ops_lstm_int.h"
#include "edgerun/ops_control.h"
#include "edgerun/ops_detection.h"
#include "edgerun/ops_data.h"
#include "edgerun/ops_norm.h"
#include "edgerun/ops_svdf.h"
#include "edgerun/ops_fft.h"
#include "edgerun/ops_conv3d.h"
#include "edgerun/ops_random.h"
#include "edgerun/ops_stablehlo.h"
#include "edgerun/ops_embedding.h"
#include "edgerun/ops_pack.h"
#include "edgerun/ops_flatbuf.h"
#endif

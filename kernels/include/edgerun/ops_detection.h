/* Params of the detection kernel family (kernels/ref/detection.c): NON_MAX_SUPPRESSION_V4/V5 and the
 * TFLite_Detection_PostProcess custom op. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_DETECTION_H
#define EDGERUN_OPS_DETECTION_H
#include "edgerun/core.h"

/* f32_nms: inputs boxes [N, 4] (y1, x1, y2, x2), scores [N], max_output_size (int32 scalar, read at
 * prepare into max_output), iou_threshold, score_threshold and, for V5, soft_nms_sigma (float32 scalars read
 * at run). Outputs selected_indices [max_output] (int32), for V5 selected_scores [max_output], and
 * num_valid (int32 scalar). Scratch: N candidates of 12 bytes (index, score, suppress_begin). */
typedef struct er_nms_params {
  int32_t max_output;
  int32_t soft;                    /* 1: V5 (six inputs, three outputs) */
} er_nms_params;

#endif

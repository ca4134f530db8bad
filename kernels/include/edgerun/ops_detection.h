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

/* f32_ / u8_detection_postprocess: the TFLite_Detection_PostProcess custom op (SSD box decoding + multi-class
 * NMS). Inputs: box encodings [1, N, box_len >= 4] (y, x, h, w), class scores [1, N, classes_with_bg], anchors
 * [N, 4] (y, x, h, w); float32, or uint8 with per-tensor quantization (dequantized as TFLite does). Outputs
 * (float32): boxes [1, D, 4], classes [1, D], scores [1, D], num_detections [1], D = max_detections *
 * max_classes_per_detection. Scratch: 16 N + N C + N K + 5 D' 4-byte words (C = classes_with_bg, K = num_classes, D' = max_detections). */
typedef struct er_detpp_params {
  int32_t max_detections;
  int32_t max_classes_per_detection;
  int32_t detections_per_class;
  int32_t num_classes;               /* classes without background; label offset = classes_with_bg - this */
  int32_t regular;                   /* 1: per-class NMS (use_regular_nms), 0: fast NMS on each box's top class */
  float score_threshold;
  float iou_threshold;               /* in (0, 1] */
  float y_scale;
  float x_scale;
  float h_scale;
  float w_scale;
} er_detpp_params;

#endif

// Channel equalization where float host code meets a depthwise layer, from
// per-channel calibration ranges (Inputs/quantize-channel-stats.json), and
// host= keeping a layer float.
// RUN: sd-opt %s --sd-quantize="stats=%S/Inputs/quantize-channel-stats.json report=%t.json" 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: sd-opt %s --sd-quantize="stats=%S/Inputs/quantize-channel-stats.json host=dw" 2>&1 | FileCheck %s --check-prefix=HOST

// Input channels reach 1.27 and 0.3175 (R = 1.27: factors 1 and 4), output
// channels 2.54 and 0.635 (factors 1 and 4): the host multiplies the input
// by [1, 4] before quantizing with 1.27 / 127, the layer's weights become
// W_c * a_c / b_c = [0.5, 0.5] and its bias bias_c * a_c = [0.1, 0.8], and
// the host divides output channel 1 by 4 after dequantizing with 2.54 / 127.
// CHECK-LABEL: func.func @dw
// CHECK:         %[[X:.*]] = linalg.generic {{.*}} ins(%arg0
// CHECK:           arith.negf
// CHECK:         %[[B:.*]] = arith.constant dense<[1.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK:         %[[XS:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[B]] : tensor<1x2x4x4xf32>, tensor<2xf32>)
// CHECK:           arith.mulf
// CHECK:         %[[Q:.*]] = sd.quantize %[[XS]] {scale = 1.000000e-02 : f64}
// CHECK:         %[[P:.*]] = tensor.pad %[[Q]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK-DAG:     %[[BIAS:.*]] = arith.constant dense<[1.000000e-01, 8.000000e-01]> : tensor<2xf32>
// CHECK-DAG:     %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<2x1x3x3xf32>
// CHECK:         %[[DW:.*]] = sd.quantized_depthwise_conv2d ins(%[[P]], %[[W]] : tensor<1x2x6x6xi8>, tensor<2x1x3x3xf32>) bias(%[[BIAS]] : tensor<2xf32>) {input_scale = 1.000000e-02 : f64, output_scale = 2.000000e-02 : f64} -> tensor<1x2x4x4xi8>
// CHECK:         %[[D:.*]] = sd.dequantize %[[DW]] {scale = 2.000000e-02 : f64}
// CHECK:         %[[A:.*]] = arith.constant dense<[1.000000e+00, 2.500000e-01]> : tensor<2xf32>
// CHECK:         %[[Y:.*]] = linalg.generic {{.*}} ins(%[[D]], %[[A]] : tensor<1x2x4x4xf32>, tensor<2xf32>)
// CHECK:           arith.mulf
// CHECK:         linalg.generic {{.*}} ins(%[[Y]] : tensor<1x2x4x4xf32>)
// CHECK:           arith.negf

// REPORT:      "channels_equalized": true,
// REPORT-NEXT: "input_scale": 0.01,
// REPORT-NEXT: "name": "dw",
// REPORT-NEXT: "op": "linalg.depthwise_conv_2d_nchw_chw",

// HOST:      remark: loc("dw"): stays on the host: kept float on the host by host= (its calibration found int8 costs accuracy here)
// HOST-NOT:  sd.quantize
// HOST:      linalg.depthwise_conv_2d_nchw_chw

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d1)>
func.func @dw(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %x = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%arg0 : tensor<1x2x4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x4xf32> loc("x")
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x4x4xf32> to tensor<1x2x6x6xf32>
  %w = arith.constant dense<[[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]]> : tensor<2x3x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %dw = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%p, %w : tensor<1x2x6x6xf32>, tensor<2x3x3xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("dw")
  %b = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %dwb = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%dw, %b : tensor<1x2x4x4xf32>, tensor<2xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4x4xf32> loc("dw")
  %y = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%dwb : tensor<1x2x4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x4xf32> loc("y")
  return %y : tensor<1x2x4x4xf32>
}

// A dense layer whose result only host code reads: its weight rows are
// equalized (rows reach 1.0 and 0.25: a = [1, 4], weights [1, 1], bias
// [0.1, 0.8]); the output scale is max_c a_c r_c / 127 = 2.54 / 127 from
// the per-channel ranges [2.54, 0.635], and the host divides channel 1 by 4.
// CHECK-LABEL: func.func @rows
// CHECK:         %[[Q:.*]] = sd.quantize %arg0 {scale = 1.000000e-02 : f64}
// CHECK-DAG:     %[[BIAS:.*]] = arith.constant dense<[1.000000e-01, 8.000000e-01]> : tensor<2xf32>
// CHECK-DAG:     %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<2x1x1x1xf32>
// CHECK:         %[[C:.*]] = sd.quantized_conv2d ins(%[[Q]], %[[W]] : tensor<1x1x2x2xi8>, tensor<2x1x1x1xf32>) bias(%[[BIAS]] : tensor<2xf32>) {input_scale = 1.000000e-02 : f64, output_scale = 2.000000e-02 : f64} -> tensor<1x2x2x2xi8>
// CHECK:         %[[D:.*]] = sd.dequantize %[[C]] {scale = 2.000000e-02 : f64}
// CHECK:         %[[A:.*]] = arith.constant dense<[1.000000e+00, 2.500000e-01]> : tensor<2xf32>
// CHECK:         %[[Y:.*]] = linalg.generic {{.*}} ins(%[[D]], %[[A]] : tensor<1x2x2x2xf32>, tensor<2xf32>)
// CHECK:           arith.mulf
// CHECK:         linalg.generic {{.*}} ins(%[[Y]] : tensor<1x2x2x2xf32>)
// CHECK:           arith.negf
func.func @rows(%arg0: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %w = arith.constant dense<[[[[1.0]]], [[[0.25]]]]> : tensor<2x1x1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%arg0, %w : tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) outs(%f : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("c")
  %b = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %cb = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%c, %b : tensor<1x2x2x2xf32>, tensor<2xf32>) outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%a: f32, %x: f32, %o: f32):
    %s = arith.addf %a, %x : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32> loc("c")
  %y = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%cb : tensor<1x2x2x2xf32>) outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2x2x2xf32> loc("cy")
  return %y : tensor<1x2x2x2xf32>
}

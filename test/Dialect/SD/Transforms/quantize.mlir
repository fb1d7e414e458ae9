// RUN: sd-opt %s --sd-quantize="stats=%S/Inputs/quantize-stats.json" --split-input-file 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// The report of both functions (one module without the split):
// RUN: sd-opt %s --sd-quantize="stats=%S/Inputs/quantize-stats.json report=%t.json" -o /dev/null 2>/dev/null
// RUN: FileCheck %s --check-prefix=REPORT < %t.json

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last3 = affine_map<(d0, d1, d2) -> (d2)>

// A decomposed network as sd-decompose leaves it: every layer the
// accelerator runs becomes an int8 op, with its bias add and ReLU fused;
// int8 values flow between consecutive layers, and float host code is
// entered through sd.quantize and left through sd.dequantize.
// Scales are max|x| / 127: arg0 0.01, relu1 0.02, dw 0.05, relu2 0.03,
// neg 0.03, fc 0.04; the max pooling keeps relu1's scale.

// CHECK-LABEL: func.func @net
// CHECK:         %[[Q0:.*]] = sd.quantize %arg0 {scale = 1.000000e-02 : f64} : tensor<1x2x6x6xf32> -> tensor<1x2x6x6xi8>
// CHECK:         %[[P0:.*]] = tensor.pad %[[Q0]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:           tensor.yield %{{.*}} : i8
// CHECK:         %[[C1:.*]] = sd.quantized_conv2d ins(%[[P0]], %{{.*}} : tensor<1x2x8x8xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>) bias(%{{.*}} : tensor<4xf32>) {input_scale = 1.000000e-02 : f64, output_scale = 2.000000e-02 : f64, relu} -> tensor<1x4x6x6xi8>
// CHECK:         %[[MP:.*]] = sd.quantized_max_pool2d ins(%[[C1]] : tensor<1x4x6x6xi8>) {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x4x6x6xi8>
// CHECK:         %[[P1:.*]] = tensor.pad %[[MP]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:         %[[W:.*]] = arith.constant dense<2.500000e-01> : tensor<4x1x3x3xf32>
// CHECK:         %[[DW:.*]] = sd.quantized_depthwise_conv2d ins(%[[P1]], %[[W]] : tensor<1x4x8x8xi8>, tensor<4x1x3x3xf32>) bias(%{{.*}} : tensor<4xf32>) {input_scale = 2.000000e-02 : f64, output_scale = 0.049999999999999996 : f64} -> tensor<1x4x6x6xi8>
// CHECK:         %[[ADD:.*]] = sd.quantized_add ins(%[[MP]], %[[DW]] : tensor<1x4x6x6xi8>, tensor<1x4x6x6xi8>) {lhs_scale = 2.000000e-02 : f64, output_scale = 3.000000e-02 : f64, relu, rhs_scale = 0.049999999999999996 : f64} -> tensor<1x4x6x6xi8>
// CHECK:         %[[D:.*]] = sd.dequantize %[[ADD]] {scale = 3.000000e-02 : f64} : tensor<1x4x6x6xi8> -> tensor<1x4x6x6xf32>
// CHECK:         %[[NEG:.*]] = linalg.generic {{.*}} ins(%[[D]] : tensor<1x4x6x6xf32>)
// CHECK:           arith.negf
// CHECK:         %[[QN:.*]] = sd.quantize %[[NEG]] {scale = 3.000000e-02 : f64} : tensor<1x4x6x6xf32> -> tensor<1x4x6x6xi8>
// CHECK:         %[[QR:.*]] = tensor.collapse_shape %[[QN]] {{\[}}[0], [1], [2, 3]] : tensor<1x4x6x6xi8> into tensor<1x4x36xi8>
// CHECK:         %[[Q2:.*]] = tensor.collapse_shape %[[QR]] {{\[}}[0, 1], [2]] : tensor<1x4x36xi8> into tensor<4x36xi8>
// CHECK:         %[[FC:.*]] = sd.quantized_matmul ins(%[[Q2]], %{{.*}} : tensor<4x36xi8>, !sd.se<8x36xf32, blocks = 1x12, exponents = [-2, 1]>) bias(%{{.*}} : tensor<8xf32>) {input_scale = 3.000000e-02 : f64, output_scale = 4.000000e-02 : f64} -> tensor<4x8xi8>
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[FC]] {{\[}}[0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xi8> into tensor<1x4x8xi8>
// CHECK:         %[[OUT:.*]] = sd.dequantize %[[E]] {scale = 4.000000e-02 : f64} : tensor<1x4x8xi8> -> tensor<1x4x8xf32>
// CHECK:         return %[[OUT]] : tensor<1x4x8xf32>

// The importers name ops by loc("name") alone, so remarks carry no file
// position.
// REMARK:      remark: loc("neg"): stays on the host: no accelerator form for an elementwise linalg.generic computing arith.negf
// REMARK:      remark: loc("dense"): stays on the host: the accelerator has no dilated convolutions
// REMARK:      remark: loc("nostats"): stays on the host: no calibration statistics for tensor 'nostats'
// REMARK:      remark: loc("dense"): stays on the host: the accelerator reads NCHW activations; this convolution is NHWC
// REMARK-NOT:  remark:

// REPORT:      "accelerator": 7,
// REPORT-NEXT: "host": 4,
// REPORT-NEXT: "ops": [
// REPORT:      "input_scale": 0.01,
// REPORT-NEXT: "name": "conv1",
// REPORT-NEXT: "op": "sd.shift_add_conv2d",
// REPORT-NEXT: "output_scale": 0.02,
// REPORT-NEXT: "target": "accelerator"
// REPORT:      "name": "pool",
// REPORT-NEXT: "op": "linalg.pooling_nchw_max",
// REPORT:      "name": "dw",
// REPORT-NEXT: "op": "linalg.depthwise_conv_2d_nchw_chw",
// REPORT:      "name": "relu2",
// REPORT-NEXT: "op": "linalg.generic",
// REPORT:      "name": "fc",
// REPORT-NEXT: "op": "sd.shift_add_matmul",
// REPORT-NEXT: "output_scale": 0.040000000000000001,
// REPORT-NEXT: "target": "accelerator"
// REPORT:      "name": "neg",
// REPORT-NEXT: "op": "linalg.generic",
// REPORT-NEXT: "reason": "no accelerator form for an elementwise linalg.generic computing arith.negf",
// REPORT-NEXT: "target": "host"
// REPORT:      "name": "dense",
// REPORT-NEXT: "op": "linalg.conv_2d_nchw_fchw",
// REPORT-NEXT: "reason": "the accelerator has no dilated convolutions",
// REPORT-NEXT: "target": "host"
// REPORT:      "name": "nostats",
// REPORT-NEXT: "op": "sd.shift_add_matmul",
// REPORT-NEXT: "reason": "no calibration statistics for tensor 'nostats'",
// REPORT-NEXT: "target": "host"
// REPORT:      "name": "dense",
// REPORT-NEXT: "op": "sd.shift_add_conv2d",
// REPORT-NEXT: "reason": "the accelerator reads NCHW activations; this convolution is NHWC",
// REPORT-NEXT: "target": "host"
// REPORT:      "input_scale": 0.01,
// REPORT-NEXT: "name": "dense",
// REPORT-NEXT: "op": "linalg.conv_2d_nchw_fchw",
// REPORT-NEXT: "output_scale": 0.02,
// REPORT-NEXT: "target": "accelerator"
// REPORT:      "input_scale": 0.02,
// REPORT-NEXT: "name": "mm",
// REPORT-NEXT: "op": "linalg.batch_matmul",
// REPORT-NEXT: "output_scale": 0.040000000000000001,
// REPORT-NEXT: "target": "accelerator"
func.func @net(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p0 = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %w1 = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
          : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>
  %e1 = tensor.empty() : tensor<1x4x6x6xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %c1 = sd.shift_add_conv2d ins(%p0, %w1 : tensor<1x2x8x8xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>)
          outs(%f1 : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> loc("conv1")
  %b1 = arith.constant dense<[0.1, 0.2, 0.3, 0.4]> : tensor<4xf32>
  %cb = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%c1, %b1 : tensor<1x4x6x6xf32>, tensor<4xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x4x6x6xf32> loc("conv1")
  %r1 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%cb : tensor<1x4x6x6xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %a, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x4x6x6xf32> loc("relu1")
  %pp = tensor.pad %r1 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x6x6xf32> to tensor<1x4x8x8xf32>
  %fp = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %mp = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%pp, %win : tensor<1x4x8x8xf32>, tensor<3x3xf32>) outs(%fp : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> loc("pool")
  %p1 = tensor.pad %mp low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x6x6xf32> to tensor<1x4x8x8xf32>
  %wd = arith.constant dense<0.25> : tensor<4x3x3xf32>
  %dw = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%p1, %wd : tensor<1x4x8x8xf32>, tensor<4x3x3xf32>) outs(%f1 : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> loc("dw")
  %bd = arith.constant dense<[0.0, -0.1, 0.1, 0.2]> : tensor<4xf32>
  %dwb = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%dw, %bd : tensor<1x4x6x6xf32>, tensor<4xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x4x6x6xf32> loc("dw")
  %sum = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%mp, %dwb : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x4x6x6xf32>
  %r2 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%sum : tensor<1x4x6x6xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x6x6xf32> loc("relu2")
  %neg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%r2 : tensor<1x4x6x6xf32>) outs(%e1 : tensor<1x4x6x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x4x6x6xf32> loc("neg")
  %x3 = tensor.collapse_shape %neg [[0], [1], [2, 3]] : tensor<1x4x6x6xf32> into tensor<1x4x36xf32>
  %w3 = sd.se_constant codes(dense<1> : tensor<8x1x12x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
          : !sd.se<8x36xf32, blocks = 1x12, exponents = [-2, 1]>
  %e3 = tensor.empty() : tensor<1x4x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %fc = sd.shift_add_matmul ins(%x3, %w3 : tensor<1x4x36xf32>, !sd.se<8x36xf32, blocks = 1x12, exponents = [-2, 1]>)
          outs(%f3 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32> loc("fc")
  %b3 = arith.constant dense<0.5> : tensor<8xf32>
  %fcb = linalg.generic {indexing_maps = [#id3, #last3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
          ins(%fc, %b3 : tensor<1x4x8xf32>, tensor<8xf32>) outs(%e3 : tensor<1x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %b, %a : f32
    linalg.yield %s : f32
  } -> tensor<1x4x8xf32> loc("fc")
  return %fcb : tensor<1x4x8xf32>
}

// -----

// What stays on the host says why: a dilated convolution, a layer whose
// output has no statistics, an NHWC convolution.
// CHECK-LABEL: func.func @host
// CHECK-NOT:     sd.quantized
// CHECK-NOT:     sd.quantize
// CHECK:         return
func.func @host(%arg0: tensor<1x2x6x6xf32>, %arg1: tensor<1x6x6x2xf32>, %arg2: tensor<4x4xf32>) -> (tensor<1x4x2x2xf32>, tensor<4x8xf32>, tensor<1x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %wd = arith.constant dense<0.5> : tensor<4x2x3x3xf32>
  %e = tensor.empty() : tensor<1x4x2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%arg0, %wd : tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) outs(%f : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> loc("dense")
  %w = sd.se_constant codes(dense<1> : tensor<8x1x2x3xi8>) basis(dense<0.5> : tensor<8x1x3x3xf32>)
         : !sd.se<8x4xf32, blocks = 1x2, exponents = [-2, 1]>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = sd.shift_add_matmul ins(%arg2, %w : tensor<4x4xf32>, !sd.se<8x4xf32, blocks = 1x2, exponents = [-2, 1]>)
         outs(%f2 : tensor<4x8xf32>) -> tensor<4x8xf32> loc("nostats")
  %w2 = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
          : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>
  %en = tensor.empty() : tensor<1x4x4x4xf32>
  %fn = linalg.fill ins(%zero : f32) outs(%en : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %n = sd.shift_add_conv2d {layout = #sd<conv_layout nhwc>} ins(%arg1, %w2 : tensor<1x6x6x2xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>)
         outs(%fn : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> loc("dense")
  return %c, %y, %n : tensor<1x4x2x2xf32>, tensor<4x8xf32>, tensor<1x4x4x4xf32>
}

// -----

// Dense weights (dense and int-k layers of a plan) in the accelerator's
// dense format: a convolution with its bias and ReLU fused, and an ONNX
// MatMul (batch_matmul with a broadcast constant [K, N]) whose weight
// becomes the quantized op's [N, K] constant.
// CHECK-LABEL: func.func @dense
// CHECK:         %[[Q:.*]] = sd.quantize %arg0 {scale = 1.000000e-02 : f64} : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xi8>
// CHECK:         %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<2x2x3x3xf32>
// CHECK:         %[[C:.*]] = sd.quantized_conv2d ins(%[[Q]], %[[W]] : tensor<1x2x4x4xi8>, tensor<2x2x3x3xf32>) bias(%{{.*}} : tensor<2xf32>) {input_scale = 1.000000e-02 : f64, output_scale = 2.000000e-02 : f64, relu} -> tensor<1x2x2x2xi8>
// CHECK:         %[[R:.*]] = tensor.collapse_shape %[[C]] {{\[}}[0], [1], [2, 3]] : tensor<1x2x2x2xi8> into tensor<1x2x4xi8>
// CHECK:         %[[WM:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00, 7.000000e+00, 1.000000e+01], [2.000000e+00, 5.000000e+00, 8.000000e+00, 1.100000e+01], [3.000000e+00, 6.000000e+00, 9.000000e+00, 1.200000e+01]]> : tensor<3x4xf32>
// CHECK:         %[[R2:.*]] = tensor.collapse_shape %[[R]] {{\[}}[0, 1], [2]] : tensor<1x2x4xi8> into tensor<2x4xi8>
// CHECK:         %[[M:.*]] = sd.quantized_matmul ins(%[[R2]], %[[WM]] : tensor<2x4xi8>, tensor<3x4xf32>) {input_scale = 2.000000e-02 : f64, output_scale = 4.000000e-02 : f64} -> tensor<2x3xi8>
// CHECK:         %[[E:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1], [2]] output_shape [1, 2, 3] : tensor<2x3xi8> into tensor<1x2x3xi8>
// CHECK:         %[[OUT:.*]] = sd.dequantize %[[E]] {scale = 4.000000e-02 : f64} : tensor<1x2x3xi8> -> tensor<1x2x3xf32>
// CHECK:         return %[[OUT]] : tensor<1x2x3xf32>
func.func @dense(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x3xf32> {
  %zero = arith.constant 0.0 : f32
  %wd = arith.constant dense<0.5> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%arg0, %wd : tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) outs(%f : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("dense")
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %cb = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%c, %b : tensor<1x2x2x2xf32>, tensor<2xf32>) outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32> loc("dense")
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
          ins(%cb : tensor<1x2x2x2xf32>) outs(%e : tensor<1x2x2x2xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.maximumf %x, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x2x2xf32> loc("drelu")
  %x3 = tensor.collapse_shape %r [[0], [1], [2, 3]] : tensor<1x2x2x2xf32> into tensor<1x2x4xf32>
  %wm = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<4x3xf32>
  %eb = tensor.empty() : tensor<1x4x3xf32>
  %wb = linalg.broadcast ins(%wm : tensor<4x3xf32>) outs(%eb : tensor<1x4x3xf32>) dimensions = [0]
  %em = tensor.empty() : tensor<1x2x3xf32>
  %fm = linalg.fill ins(%zero : f32) outs(%em : tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %mm = linalg.batch_matmul ins(%x3, %wb : tensor<1x2x4xf32>, tensor<1x4x3xf32>) outs(%fm : tensor<1x2x3xf32>) -> tensor<1x2x3xf32> loc("mm")
  return %mm : tensor<1x2x3xf32>
}

// RUN: sd-opt %s --convert-sd-to-linalg --split-input-file | FileCheck %s

// The whole-network ops lower to exact integer linalg
// (docs/QuantizedArithmetic.md). Add: 0.5 a + 0.25 b at output scale 1 is
// M_a = 2^14, M_b = 2^13, S = 15, then the ReLU clamp.
// CHECK-LABEL: func.func @add
// CHECK-DAG:     %[[S:.*]] = arith.constant 15 : i64
// CHECK-DAG:     %[[MA:.*]] = arith.constant 16384 : i64
// CHECK-DAG:     %[[MB:.*]] = arith.constant 8192 : i64
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK:         linalg.generic
// CHECK:           %[[A:.*]] = arith.extsi %{{.*}} : i8 to i64
// CHECK:           %[[B:.*]] = arith.extsi %{{.*}} : i8 to i64
// CHECK-DAG:       %[[TB:.*]] = arith.muli %[[B]], %[[MB]] : i64
// CHECK-DAG:       %[[TA:.*]] = arith.muli %[[A]], %[[MA]] : i64
// CHECK:           %[[T:.*]] = arith.addi %[[TA]], %[[TB]] : i64
// CHECK:           %[[R:.*]] = arith.addi %[[T]], %[[MA]] : i64
// CHECK:           %[[Y:.*]] = arith.shrsi %[[R]], %[[S]] : i64
// CHECK:           arith.maxsi %[[Y]], %[[ZERO]] : i64
func.func @add(%a: tensor<1x2x4x4xi8>, %b: tensor<1x2x4x4xi8>) -> tensor<1x2x4x4xi8> {
  %s = sd.quantized_add ins(%a, %b : tensor<1x2x4x4xi8>, tensor<1x2x4x4xi8>)
         {lhs_scale = 0.5 : f64, rhs_scale = 0.25 : f64, output_scale = 1.0 : f64, relu} -> tensor<1x2x4x4xi8>
  return %s : tensor<1x2x4x4xi8>
}

// -----

// Max pooling pads with -128 (never an activation) and takes linalg's
// signed max; the 2x2 average sums in i64 and requantizes with
// m = 0.25 / (0.125 * 4) = 2^-1: M = 2^14, S = 15.
// CHECK-LABEL: func.func @pools
// CHECK:         %[[LOW:.*]] = arith.constant -128 : i8
// CHECK:         %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:           tensor.yield %[[LOW]] : i8
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%[[LOW]] : i8)
// CHECK:         %[[M:.*]] = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[P]], %{{.*}} : tensor<1x2x6x6xi8>, tensor<3x3xi8>) outs(%[[INIT]] : tensor<1x2x2x2xi8>)
// CHECK:         %[[SUM:.*]] = linalg.pooling_nchw_sum {{.*}} ins(%[[M]], %{{.*}} : tensor<1x2x2x2xi8>, tensor<2x2xi64>) outs(%{{.*}} : tensor<1x2x1x1xi64>)
// CHECK:         linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x2x1x1xi64>)
// CHECK:           arith.muli %{{.*}}, %c16384_i64
// CHECK:           arith.shrsi %{{.*}}, %c15_i64
func.func @pools(%x: tensor<1x2x4x4xi8>) -> tensor<1x2x1x1xi8> {
  %m = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xi8>)
         {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x2x2x2xi8>
  %g = sd.quantized_avg_pool2d ins(%m : tensor<1x2x2x2xi8>)
         {kernel = array<i64: 2, 2>, input_scale = 0.25 : f64, output_scale = 0.125 : f64} -> tensor<1x2x1x1xi8>
  return %g : tensor<1x2x1x1xi8>
}

// -----

// Depthwise weights get one power-of-two scale (max |w| = 2: 2^5), the bias
// is in accumulator units (0.1 * 2^-5 each) and m = 0.1 * 2^-5 / 0.2 = 2^-6.
// CHECK-LABEL: func.func @depthwise
// CHECK-DAG:     %[[W:.*]] = arith.constant dense<{{\[\[\[}}16, -8, 32], [0, 64, 16], [32, 32, -32]], {{\[\[}}4, 0, 0], [0, -16, 0], [0, 0, 8]]]> : tensor<2x3x3xi8>
// CHECK-DAG:     %[[B:.*]] = arith.constant dense<[160, -320]> : tensor<2xi64>
// CHECK:         %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<2xi64>)
// CHECK:         %[[D:.*]] = linalg.depthwise_conv_2d_nchw_chw {{.*}} ins(%{{.*}}, %[[W]] : tensor<1x2x4x4xi8>, tensor<2x3x3xi8>) outs(%[[ACC]] : tensor<1x2x2x2xi64>)
// CHECK:         linalg.generic {{.*}} ins(%[[D]] : tensor<1x2x2x2xi64>)
// CHECK:           arith.muli %{{.*}}, %c16384_i64
// CHECK:           arith.shrsi %{{.*}}, %c20_i64
func.func @depthwise(%x: tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xi8> {
  %w = arith.constant dense<[[[[0.5, -0.25, 1.0], [0.0, 2.0, 0.5], [1.0, 1.0, -1.0]]], [[[0.125, 0.0, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, 0.25]]]]> : tensor<2x1x3x3xf32>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %d = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x4x4xi8>, tensor<2x1x3x3xf32>) bias(%b : tensor<2xf32>)
         {input_scale = 0.1 : f64, output_scale = 0.2 : f64, relu} -> tensor<1x2x2x2xi8>
  return %d : tensor<1x2x2x2xi8>
}

// -----

// Entering int8: x / scale in f64, clamped to [-127, 127], rounded half
// away from zero exactly (trunc, then a step of +-1 when the remainder
// reaches +-0.5); leaving: f32(xq) * f32(scale).
// CHECK-LABEL: func.func @boundaries
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<4xf32>) outs(%{{.*}} : tensor<4xi8>)
// CHECK:           %[[E:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK:           %[[D:.*]] = arith.divf %[[E]], %{{.*}} : f64
// CHECK:           %[[LO:.*]] = arith.maximumf %[[D]], %{{.*}} : f64
// CHECK:           %[[Y:.*]] = arith.minimumf %[[LO]], %{{.*}} : f64
// CHECK:           %[[T:.*]] = arith.fptosi %[[Y]] : f64 to i64
// CHECK:           %[[TF:.*]] = arith.sitofp %[[T]] : i64 to f64
// CHECK:           %[[R:.*]] = arith.subf %[[Y]], %[[TF]] : f64
// CHECK:           arith.cmpf oge, %[[R]]
// CHECK:           arith.cmpf ole, %[[R]]
// CHECK:           %[[N:.*]] = arith.addi %[[T]], %{{.*}} : i64
// CHECK:           arith.trunci %[[N]] : i64 to i8
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<4xi8>) outs(%{{.*}} : tensor<4xf32>)
// CHECK:           %[[F:.*]] = arith.sitofp %{{.*}} : i8 to f32
// CHECK:           arith.mulf %[[F]], %{{.*}} : f32
func.func @boundaries(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = sd.quantize %x {scale = 0.25 : f64} : tensor<4xf32> -> tensor<4xi8>
  %y = sd.dequantize %q {scale = 0.5 : f64} : tensor<4xi8> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// quantize(dequantize(q, s), s) folds to q.
// CHECK-LABEL: func.func @fold
// CHECK-NEXT:    return %arg0 : tensor<4xi8>
func.func @fold(%q: tensor<4xi8>) -> tensor<4xi8> {
  %y = sd.dequantize %q {scale = 0.5 : f64} : tensor<4xi8> -> tensor<4xf32>
  %r = sd.quantize %y {scale = 0.5 : f64} : tensor<4xf32> -> tensor<4xi8>
  return %r : tensor<4xi8>
}

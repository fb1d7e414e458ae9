// RUN: sd-opt %s --convert-sd-to-linalg --split-input-file | FileCheck %s

// A rebuild decodes codes through a table of 2*14+1 powers of two, contracts
// Ce with B per block, and cuts the padding (5 of 6 values per row kept).
// CHECK-LABEL: func.func @rebuild_fc
// CHECK-DAG:     %[[CODES:.*]] = arith.constant dense<{{.*}}> : tensor<2x1x2x3xi8>
// CHECK-DAG:     %[[BASIS:.*]] = arith.constant dense<{{.*}}> : tensor<2x1x3x3xf32>
// CHECK-DAG:     %[[TABLE:.*]] = arith.constant dense<[-3.200000e+01, {{.*}}, 0.000000e+00, 3.906250e-03, {{.*}}, 3.200000e+01]> : tensor<29xf32>
// CHECK:         %[[ROWS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[CODES]], %[[BASIS]] : tensor<2x1x2x3xi8>, tensor<2x1x3x3xf32>)
// CHECK:           arith.index_cast
// CHECK:           tensor.extract %[[TABLE]]
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[FLAT:.*]] = tensor.collapse_shape %[[ROWS]] {{\[\[}}0], [1, 2, 3]] : tensor<2x1x2x3xf32> into tensor<2x6xf32>
// CHECK:         %[[W:.*]] = tensor.extract_slice %[[FLAT]][0, 0] [2, 5] [1, 1] : tensor<2x6xf32> to tensor<2x5xf32>
// CHECK:         return %[[W]]
// CHECK-NOT:     sd.
func.func @rebuild_fc() -> tensor<2x5xf32> {
  %w = sd.se_constant codes(dense<[[[[1, 0, -14], [9, 9, 0]]], [[[0, 0, 0], [2, -3, 4]]]]> : tensor<2x1x2x3xi8>)
         basis(dense<0.5> : tensor<2x1x3x3xf32>) : !sd.se<2x5xf32, blocks = 1x2, exponents = [-8, 5]>
  %d = sd.rebuild %w : !sd.se<2x5xf32, blocks = 1x2, exponents = [-8, 5]> -> tensor<2x5xf32>
  return %d : tensor<2x5xf32>
}

// -----

// A conv weight needs no slice (6 rows of 3 exactly) but is expanded back to
// F x C x R x S; NHWC transposes it to F x R x S x C for linalg.
// CHECK-LABEL: func.func @conv_nhwc
// CHECK:         %[[FLAT:.*]] = tensor.collapse_shape {{.*}} : tensor<1x1x6x3xf32> into tensor<1x18xf32>
// CHECK:         %[[W:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0], [1, 2, 3]] output_shape [1, 2, 3, 3] : tensor<1x18xf32> into tensor<1x2x3x3xf32>
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[W]] : tensor<1x2x3x3xf32>) outs(%{{.*}} : tensor<1x3x3x2xf32>) permutation = [0, 2, 3, 1]
// CHECK:         %[[C:.*]] = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %[[T]] : tensor<1x7x7x2xf32>, tensor<1x3x3x2xf32>)
// CHECK:         %[[B:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1xf32>) outs(%[[C]] : tensor<1x3x3x1xf32>)
// CHECK:         return %[[B]]
func.func @conv_nhwc(%x: tensor<1x7x7x2xf32>, %b: tensor<1xf32>, %init: tensor<1x3x3x1xf32>) -> tensor<1x3x3x1xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<1x1x6x3xi8>) basis(dense<0.5> : tensor<1x1x3x3xf32>)
         : !sd.se<1x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %y = sd.shift_add_conv2d {layout = #sd<conv_layout nhwc>, strides = array<i64: 2, 2>}
         ins(%x, %w : tensor<1x7x7x2xf32>, !sd.se<1x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         bias(%b : tensor<1xf32>) outs(%init : tensor<1x3x3x1xf32>) -> tensor<1x3x3x1xf32>
  return %y : tensor<1x3x3x1xf32>
}

// -----

// A batched matmul contracts the last dimension against W[n, k].
// CHECK-LABEL: func.func @matmul_3d
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<2x3x6xf32>, tensor<4x6xf32>) outs(%{{.*}} : tensor<2x3x4xf32>)
func.func @matmul_3d(%x: tensor<2x3x6xf32>, %init: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x3x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// A quantized permuted-diagonal layer: int8 values on one power-of-two scale
// (max |q| = 1.0 -> f_W = 6, so 0.5 -> 32), placed on their diagonals as
// int32, summed in int64 from the bias (0.5 / (0.05 * 2^-6) = 640), then
// requantized with m = 0.05 * 2^-6 / 0.1 = 2^-7 (M = 2^14, S = 21).
// CHECK-LABEL: func.func @quantized_permdiag
// CHECK-DAG:     %[[BIAS:.*]] = arith.constant dense<[640, -640, 1280]> : tensor<3xi64>
// CHECK-DAG:     %[[VALUES:.*]] = arith.constant dense<{{\[\[\[}}32, -16], [64, 8]], {{\[\[}}-64, 48], [16, 32]]]> : tensor<2x2x2xi8>
// CHECK-DAG:     %[[OFFSETS:.*]] = arith.constant dense<{{\[\[}}1, 0], [0, 1]]> : tensor<2x2xi32>
// CHECK:         %[[W:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<3x3xi32>)
// CHECK:           tensor.extract %[[OFFSETS]]
// CHECK:           arith.remui
// CHECK:           %[[Q:.*]] = tensor.extract %[[VALUES]]
// CHECK:           %[[Q32:.*]] = arith.extsi %[[Q]] : i8 to i32
// CHECK:           arith.select %{{.*}}, %[[Q32]], %{{.*}} : i32
// CHECK:         %[[ACC0:.*]] = linalg.generic {{.*}} ins(%[[BIAS]] : tensor<3xi64>)
// CHECK:         %[[ACC:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[W]] : tensor<2x3xi8>, tensor<3x3xi32>) outs(%[[ACC0]] : tensor<2x3xi64>)
// CHECK:           arith.muli %{{.*}}, %{{.*}} : i64
// CHECK:         linalg.generic {{.*}} ins(%[[ACC]] : tensor<2x3xi64>) outs(%{{.*}} : tensor<2x3xi8>)
// CHECK:           arith.muli %{{.*}}, %c16384_i64 : i64
// CHECK:           arith.shrsi %{{.*}}, %c21_i64 : i64
// CHECK:           arith.maxsi %{{.*}}, %c0_i64 : i64
// CHECK-NOT:     sd.
func.func @quantized_permdiag(%x: tensor<2x3xi8>) -> tensor<2x3xi8> {
  %w = sd.permdiag_constant offsets(dense<[[1, 0], [0, 1]]> : tensor<2x2xi32>)
         values(dense<[[[0.5, -0.25], [1.0, 0.125]], [[-1.0, 0.75], [0.25, 0.5]]]> : tensor<2x2x2xf32>)
         : !sd.permdiag<3x3xf32, p = 2>
  %b = arith.constant dense<[0.5, -0.5, 1.0]> : tensor<3xf32>
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x3xi8>, !sd.permdiag<3x3xf32, p = 2>)
         bias(%b : tensor<3xf32>) {input_scale = 0.05 : f64, output_scale = 0.1 : f64, relu} -> tensor<2x3xi8>
  return %y : tensor<2x3xi8>
}

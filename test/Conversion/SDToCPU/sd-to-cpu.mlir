// RUN: sd-opt %s --convert-sd-to-cpu --canonicalize --split-input-file | FileCheck %s

// The weights stay compressed: the codes become one byte each in planes of
// Ce columns padded to 8 rows (12 x 1 block x 3 columns x 8), and no 12x10
// f32 weight exists; x is rearranged into the same planes once. Each tile
// of 6 rows (the largest divisor of 12 not above 8) is rebuilt with 8-lane
// vector ops: half-precision decode, then 3 multiply-adds per column.
// CHECK-LABEL: func.func @fc
// CHECK:         %[[CODES:.*]] = arith.constant dense_resource<sd_cpu_codes> : tensor<12x1x3x8xi8>
// CHECK-NOT:     tensor<12x10xf32>
// CHECK:         linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK:         scf.for %{{.*}} = %c0 to %c12 step %c6
// CHECK:           tensor.empty() : tensor<6x1x3x8xf32>
// CHECK:           vector.transfer_read %[[CODES]]{{.*}} : tensor<12x1x3x8xi8>, vector<8xi8>
// CHECK:           arith.extui {{.*}} : vector<8xi8> to vector<8xi16>
// CHECK:           arith.bitcast {{.*}} : vector<8xi16> to vector<8xf16>
// CHECK:           arith.extf {{.*}} : vector<8xf16> to vector<8xf32>
// CHECK:           vector.fma {{.*}} : vector<8xf32>
// CHECK:           vector.transfer_write {{.*}} : vector<8xf32>, tensor<6x1x3x8xf32>
// CHECK:           vector.fma {{.*}} : vector<8xf32>
// CHECK:           vector.reduction <add>
// CHECK-NOT:     sd.
func.func @fc(%x: tensor<2x10xf32>, %init: tensor<2x12xf32>) -> tensor<2x12xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<12x1x4x3xi8>) basis(dense<0.5> : tensor<12x1x3x3xf32>)
         : !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x10xf32>, !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>)
         outs(%init : tensor<2x12xf32>) -> tensor<2x12xf32>
  return %y : tensor<2x12xf32>
}

// -----

// Convolutions gather an im2col tensor ordered like the weight rows.
// CHECK-LABEL: func.func @conv
// CHECK:         linalg.generic {{.*}} ins(%arg0 : tensor<1x2x5x5xf32>) outs(%{{.*}} : tensor<1x3x3x2x3x3xf32>)
// CHECK:         tensor.collapse_shape {{.*}} into tensor<9x18xf32>
// CHECK:         linalg.transpose
// CHECK:         scf.for
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<1x3x3x4xf32>) outs(%arg1 : tensor<1x4x3x3xf32>)
func.func @conv(%x: tensor<1x2x5x5xf32>, %init: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         outs(%init : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

// Exponent ranges beyond half precision keep signed codes and decode by
// assembling f32 exponent bits.
// CHECK-LABEL: func.func @wide_range
// CHECK:         arith.constant dense<{{.*}}> : tensor<2x1x3x8xi8>
// CHECK:         arith.extsi {{.*}} : vector<8xi8> to vector<8xi32>
// CHECK:         arith.shli
// CHECK:         arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
func.func @wide_range(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<2x1x2x3xi8>) basis(dense<0.5> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-20, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-20, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

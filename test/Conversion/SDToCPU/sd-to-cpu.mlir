// RUN: sd-opt %s --convert-sd-to-cpu --canonicalize --split-input-file | FileCheck %s

// The weights stay compressed: one-byte codes and the bases are the only
// weight constants (no 12x10 f32 weight), and each tile of 6 rows (the
// largest divisor of 12 not above 8) is rebuilt with vector ops.
// CHECK-LABEL: func.func @fc
// CHECK-DAG:     arith.constant dense<{{.*}}> : tensor<12x1x12xi8>
// CHECK-DAG:     arith.constant dense<{{.*}}> : tensor<12x1x3x3xf32>
// CHECK-NOT:     tensor<12x10xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c12 step %c6
// CHECK:           tensor.empty() : tensor<6x1x12xf32>
// CHECK:           vector.transfer_read {{.*}} : tensor<12x1x12xi8>, vector<24xi8>
// CHECK:           vector.shuffle
// CHECK:           arith.bitcast {{.*}} : vector<24xi32> to vector<24xf32>
// CHECK:           vector.fma {{.*}} : vector<24xf32>
// CHECK:           vector.transfer_write {{.*}} : vector<24xf32>, tensor<6x1x12xf32>
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
// CHECK:         scf.for
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<1x3x3x4xf32>) outs(%arg1 : tensor<1x4x3x3xf32>)
func.func @conv(%x: tensor<1x2x5x5xf32>, %init: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         outs(%init : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

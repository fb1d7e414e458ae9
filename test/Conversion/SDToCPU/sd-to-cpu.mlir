// RUN: sd-opt %s --convert-sd-to-cpu=code-stream=false --canonicalize --split-input-file | FileCheck %s

// The weights stay compressed: every code uses one magnitude, so the codes
// are 4-bit nibbles, two per byte, in planes of Ce columns padded to 16 rows
// (12 x 1 block x 3 columns x 16 rows / 2), and no 12x10 f32 weight exists;
// x is rearranged into the same planes once. The tiles of 6 rows (the
// largest divisor of 12 not above 8) are one scf.forall (threads), each
// writing its columns of y; a tile is rebuilt with 8-lane vector ops: one
// 8-byte load per column gives 16 rows, the low and high nibbles moved into
// half-precision sign and exponent bits, then 3 multiply-adds per column.
// The bases carry the factor 2^(p0 + 14) = 2^6 (p0 = -8): 0.5 becomes 32;
// every row is then exactly 1 * 32, so they are stored as 2-bit integers
// (one 2-bit plane of ceil(108/8) = 14 columns) with one scale (32) per row.
// CHECK-LABEL: func.func @fc
// CHECK-DAG:     %[[CODES:.*]] = arith.constant dense_resource<sd_cpu_codes4> : tensor<12x1x3x8xi8>
// CHECK-DAG:     arith.constant dense<{{.*}}> : tensor<2x14xi8>
// CHECK-DAG:     arith.constant dense<3.200000e+01> : tensor<12xf32>
// CHECK-NOT:     tensor<12x10xf32>
// CHECK:         linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK:         scf.forall (%[[O0:.*]]) = (0) to (12) step (6) shared_outs(%[[Y:.*]] = %arg1)
// CHECK:           tensor.extract_slice %[[Y]][0, %[[O0]]] [2, 6] [1, 1]
// CHECK:           tensor.empty() : tensor<6x1x3x16xf32>
// CHECK:           vector.transfer_read %[[CODES]]{{.*}} : tensor<12x1x3x8xi8>, vector<8xi8>
// CHECK:           arith.extui {{.*}} : vector<8xi8> to vector<8xi16>
// CHECK:           arith.shli
// CHECK:           arith.andi
// CHECK:           arith.bitcast {{.*}} : vector<8xi16> to vector<8xf16>
// CHECK:           arith.extf {{.*}} : vector<8xf16> to vector<8xf32>
// CHECK:           vector.fma {{.*}} : vector<8xf32>
// CHECK:           vector.transfer_write {{.*}} : vector<8xf32>, tensor<6x1x3x16xf32>
// CHECK:           vector.fma {{.*}} : vector<8xf32>
// CHECK:           vector.reduction <add>
// CHECK:           tensor.parallel_insert_slice {{.*}} into %[[Y]][0, %[[O0]]] [2, 6] [1, 1]
// CHECK-NOT:     sd.
// CHECK: sd_cpu_codes4: "0x0100000001010101000000000101010100000000
func.func @fc(%x: tensor<2x10xf32>, %init: tensor<2x12xf32>) -> tensor<2x12xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<12x1x4x3xi8>) basis(dense<0.5> : tensor<12x1x3x3xf32>)
         : !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x10xf32>, !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>)
         outs(%init : tensor<2x12xf32>) -> tensor<2x12xf32>
  return %y : tensor<2x12xf32>
}

// -----

// Convolutions gather an im2col tensor ordered like the weight rows. (The
// 4 output channels are one tile: canonicalization inlines its scf.forall.)
// CHECK-LABEL: func.func @conv
// CHECK:         linalg.generic {{.*}} ins(%arg0 : tensor<1x2x5x5xf32>) outs(%{{.*}} : tensor<1x3x3x2x3x3xf32>)
// CHECK:         tensor.collapse_shape {{.*}} into tensor<9x18xf32>
// CHECK:         linalg.transpose
// CHECK:         vector.fma
// CHECK:         linalg.generic {{.*}} ins(%{{.*}} : tensor<1x3x3x4xf32>) outs(%arg1 : tensor<1x4x3x3xf32>)
func.func @conv(%x: tensor<1x2x5x5xf32>, %init: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         outs(%init : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

// Codes whose magnitudes span more than 7 levels (1 and 10 here) keep one
// byte each: the top byte of the half-precision value.
// CHECK-LABEL: func.func @byte_codes
// CHECK:         arith.constant dense<{{.*}}> : tensor<2x1x3x8xi8>
// CHECK:         arith.extui {{.*}} : vector<8xi8> to vector<8xi16>
// CHECK-NOT:     arith.andi
// CHECK:         arith.bitcast {{.*}} : vector<8xi16> to vector<8xf16>
func.func @byte_codes(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<[[[[1, 10, 1], [1, 1, 1]]], [[[1, 1, 1], [1, 1, 1]]]]> : tensor<2x1x2x3xi8>) basis(dense<0.5> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Exponent ranges beyond half precision keep signed codes and decode by
// assembling f32 exponent bits (when the span also rules out nibbles).
// CHECK-LABEL: func.func @wide_range
// CHECK:         arith.constant dense<{{.*}}> : tensor<2x1x3x8xi8>
// CHECK:         arith.extsi {{.*}} : vector<8xi8> to vector<8xi32>
// CHECK:         arith.shli
// CHECK:         arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
func.func @wide_range(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<[[[[1, 10, 1], [1, 1, 1]]], [[[1, 1, 1], [1, 1, 1]]]]> : tensor<2x1x2x3xi8>) basis(dense<0.5> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-20, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-20, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// RUN: sd-opt %s --convert-sd-to-cpu --canonicalize --split-input-file | FileCheck %s

// With code-stream (the default) the codes are stored as the report counts
// them: an entry bitmap, then a w-bit index per non-zero code, then a table
// of the distinct plane codes. Here all 12*3*4 = 144 entries hold code 1
// (nibble 0x01): 18 bitmap bytes of ones, 144 one-bit indices of 0 (18
// bytes and one of padding for the decoder's two-byte reads), table [1, 0]:
// 39 bytes (inline: under the resource threshold) instead of 288 bytes of
// nibble planes. One loop over planes and
// rows rebuilds the planes before the unchanged kernel reads them.
// CHECK-LABEL: func.func @dense_codes
// CHECK-DAG:     %[[DATA:.*]] = arith.constant dense<[-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]> : tensor<39xi8>
// CHECK-NOT:     arith.constant {{.*}} : tensor<12x1x3x8xi8>
// CHECK:         %[[FLAT:.*]]:2 = scf.for {{.*}} -> (index, tensor<288xi8>)
// CHECK:           scf.for {{.*}} -> (index, tensor<288xi8>)
// CHECK:             tensor.extract %[[DATA]]
// CHECK:             arith.select
// CHECK:             tensor.insert
// CHECK:         %[[PLANES:.*]] = tensor.expand_shape %[[FLAT]]#1 {{.*}} into tensor<12x1x3x8xi8>
// CHECK:         vector.transfer_read %[[PLANES]]
func.func @dense_codes(%x: tensor<2x10xf32>, %init: tensor<2x12xf32>) -> tensor<2x12xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<12x1x4x3xi8>) basis(dense<0.5> : tensor<12x1x3x3xf32>)
         : !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x10xf32>, !sd.se<12x10xf32, blocks = 1x4, exponents = [-8, 5]>)
         outs(%init : tensor<2x12xf32>) -> tensor<2x12xf32>
  return %y : tensor<2x12xf32>
}

// -----

// Sparse signed codes: entries in plane order (output, column, row) are
// 1 0 | 0 0 | -2 1 || 0 2 | -1 0 | 0 0 as nibbles s<<3 | m: four distinct
// (1, 2, 9, 10), so 2-bit indices (the report's ceil(log2 2) + 1 for two
// magnitudes with signs). Bitmap 0xB1 0x01, indices 0 3 0 1 2 -> 0x4C 0x02
// plus a padding byte, table 01 02 09 0A: 9 bytes instead of 48.
// CHECK-LABEL: func.func @sparse_codes
// CHECK:         arith.constant dense<[-79, 1, 76, 2, 0, 1, 2, 9, 10]> : tensor<9xi8>
// CHECK:         scf.for
func.func @sparse_codes(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<[[[[1, 0, -2], [0, 0, 1]]], [[[0, -1, 0], [2, 0, 0]]]]> : tensor<2x1x2x3xi8>) basis(dense<0.5> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

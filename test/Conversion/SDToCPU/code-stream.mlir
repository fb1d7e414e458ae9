// RUN: sd-opt %s --convert-sd-to-cpu --canonicalize --split-input-file | FileCheck %s

// With code-stream (the default) the codes are stored as the report counts
// them: an entry bitmap, then a w-bit index per non-zero code, then a table
// of the distinct plane codes. Here all 12*3*4 = 144 entries hold code 1
// (nibble 0x01): 18 bitmap bytes of ones, 144 one-bit indices of 0 (18
// bytes and one of padding for the decoder's two-byte reads), table [1, 0]:
// 39 bytes (inline: under the resource threshold) instead of 288 bytes of
// nibble planes, in a constant global. The planes are a zero-initialized
// module buffer: the first call claims the decode (state 0 -> 1 by an
// atomic max), rebuilds the planes with one loop over planes and rows and
// publishes state 2; every call waits for 2, then the unchanged kernel
// reads the buffer.
// CHECK-LABEL: module
// CHECK-DAG:   memref.global "private" @[[STATE:.*]] : memref<i32> = dense<0>
// CHECK-DAG:   memref.global "private" @[[PLANES:.*_decoded]] : memref<288xi8> = dense<0>
// CHECK-DAG:   memref.global "private" constant @[[STREAM:.*_stream]] : memref<39xi8> = dense<[-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]>
// CHECK-NOT:   arith.constant {{.*}} : tensor<12x1x3x8xi8>
// CHECK-LABEL: func.func @dense_codes
// CHECK-DAG:     %[[DATA:.*]] = memref.get_global @[[STREAM]]
// CHECK-DAG:     %[[FLAT:.*]] = memref.get_global @[[PLANES]]
// CHECK-DAG:     %[[ST:.*]] = memref.get_global @[[STATE]]
// CHECK:         %[[OLD:.*]] = memref.atomic_rmw maxu %c1_i32, %[[ST]][]
// CHECK:         %[[MINE:.*]] = arith.cmpi eq, %[[OLD]], %c0_i32
// CHECK:         scf.if %[[MINE]] {
// CHECK:           scf.for {{.*}} -> (index)
// CHECK:             scf.for {{.*}} -> (index)
// CHECK:               memref.load %[[DATA]]
// CHECK:               arith.select
// CHECK:               memref.store {{.*}}, %[[FLAT]]
// CHECK:           memref.atomic_rmw assign %c2_i32, %[[ST]][]
// CHECK:         scf.while
// CHECK:           memref.atomic_rmw ori %c0_i32, %[[ST]][]
// CHECK:           arith.cmpi ne, {{.*}}, %c2_i32
// CHECK:         %[[T:.*]] = bufferization.to_tensor %[[FLAT]] restrict
// CHECK:         %[[P:.*]] = tensor.expand_shape %[[T]] {{.*}} into tensor<12x1x3x8xi8>
// CHECK:         vector.transfer_read %[[P]]
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
// CHECK-LABEL: module
// CHECK:         memref.global "private" constant @{{.*}} : memref<9xi8> = dense<[-79, 1, 76, 2, 0, 1, 2, 9, 10]>
// CHECK-LABEL: func.func @sparse_codes
// CHECK:         scf.for
func.func @sparse_codes(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<[[[[1, 0, -2], [0, 0, 1]]], [[[0, -1, 0], [2, 0, 0]]]]> : tensor<2x1x2x3xi8>) basis(dense<0.5> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

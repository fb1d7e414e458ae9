// A decomposed layer compiled ahead of time to a shared library with a plain
// C entry point, linked into a C program and called. W = Ce * B with B = I,
// so W is the decoded codes: [[1, 2, 4, 0.5, 0], [-1, -2, -4, 0, 0],
// [0, 1, 0, 0, -1], [0, 0, 0, -0.5, 0.5]].
//
// RUN: rm -rf %t && mkdir -p %t/cpu %t/ref
// RUN: %sd_src_root/scripts/sd-compile.sh %s %t/cpu/libmodel.so
// RUN: cc %sd_src_root/test/Integration/Inputs/aot_fc_main.c -L%t/cpu -lmodel -Wl,-rpath,%t/cpu -o %t/cpu/main
// RUN: %t/cpu/main | FileCheck %s
// RUN: %sd_src_root/scripts/sd-compile.sh %s %t/ref/libmodel.so --sd-reference-to-llvm
// RUN: cc %sd_src_root/test/Integration/Inputs/aot_fc_main.c -L%t/ref -lmodel -Wl,-rpath,%t/ref -o %t/ref/main
// RUN: %t/ref/main | FileCheck %s

// x = [[1, 2, 3, 4, 5], [-1, 0, 1, 0, -1]], y = x * W^T + b, b = [0.5, 0, 0, -1]
// CHECK:      19.5 -17 -3 -0.5
// CHECK-NEXT: 3.5 -3 1 -1.5

func.func @forward(%x: tensor<2x5xf32>) -> tensor<2x4xf32> {
  // Codes: 9 -> 2^0 = 1, 10 -> 2, 11 -> 4, 8 -> 0.5, -9 -> -1, -10 -> -2.
  %w = sd.se_constant codes(dense<[[[[9, 10, 11], [8, 0, 0]]],
                                   [[[-9, -10, -11], [0, 0, 0]]],
                                   [[[0, 9, 0], [0, -9, 0]]],
                                   [[[0, 0, 0], [-8, 8, 0]]]]> : tensor<4x1x2x3xi8>)
         basis(dense<[[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
                      [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
                      [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
                      [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]]> : tensor<4x1x3x3xf32>)
         : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>
  %b = arith.constant dense<[0.5, 0.0, 0.0, -1.0]> : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x5xf32>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>)
         bias(%b : tensor<4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// RUN: sd-opt %s --sd-round-basis | FileCheck %s
// RUN: sd-opt %s --sd-round-basis=bits=4 | FileCheck %s --check-prefix=FOUR
// RUN: not sd-opt %s --sd-round-basis=bits=1 2>&1 | FileCheck %s --check-prefix=BAD

// Each output row's bases become q * 2^e, |q| <= 127, with the smallest e
// that holds the row's largest magnitude: row 0 (largest 1.0) gets e = -6,
// so 0.3 -> 19/64, 0.01 -> 1/64, 0.7 -> 45/64; row 1 (largest 3.0) gets
// e = -5: 2.9 -> 93/32, 0.1 -> 3/32, 0.01 -> 0.
// CHECK-LABEL: func.func @fc
// CHECK: basis(dense<{{\[\[\[\[}}2.968750e-01, -1.000000e+00, 5.000000e-01], [9.375000e-02, 0.000000e+00, 1.562500e-02], [7.031250e-01, 2.031250e-01, -2.968750e-01]]], {{\[\[\[}}3.000000e+00, 2.906250e+00, 9.375000e-02], [0.000000e+00, -1.000000e+00, 5.000000e-01], [2.500000e-01, 1.250000e-01, 0.000000e+00]]]]>
// With 4 bits (|q| <= 7): row 0 gets e = -2 (0.3 -> 1/4, 0.7 -> 3/4).
// FOUR: basis(dense<{{\[\[\[\[}}2.500000e-01, -1.000000e+00, 5.000000e-01], [0.000000e+00, 0.000000e+00, 0.000000e+00], [7.500000e-01, 2.500000e-01, -2.500000e-01]]],
// BAD: error: sd-round-basis: bits must be in [2, 16], got 1
func.func @fc(%x: tensor<1x6xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = sd.se_constant codes(dense<1> : tensor<2x1x2x3xi8>)
         basis(dense<[[[[0.3, -1.0, 0.5], [0.1, 0.0, 0.01], [0.7, 0.2, -0.3]]],
                      [[[3.0, 2.9, 0.1], [0.01, -1.0, 0.5], [0.25, 0.125, 0.0]]]]> : tensor<2x1x3x3xf32>)
         : !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<2x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

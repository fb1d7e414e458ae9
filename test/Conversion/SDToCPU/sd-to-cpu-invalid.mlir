// RUN: sd-opt %s --convert-sd-to-cpu --split-input-file -verify-diagnostics
// RUN: not sd-opt %s --convert-sd-to-cpu="tile-rows=0" 2>&1 | FileCheck %s --check-prefix=TILE

// RUN: not sd-opt %s --convert-sd-to-cpu="permdiag-rows=0" 2>&1 | FileCheck %s --check-prefix=PDROWS

// TILE: error: tile-rows must be at least 1
// PDROWS: error: permdiag-rows must be at least 1

func.func @weight_argument(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>,
                           %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{cannot lower 'sd.shift_add_matmul' to the CPU: its weight is not defined by a constant sd op in this function}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// A blob missing from the file passes the verifier (the IR is only opaque)
// but the CPU code needs its bytes: the pipeline stops here, not in the LLVM
// translation.
func.func @missing_blob(%x: tensor<1x6xf32>, %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{the CPU code needs the values of 'codes': dense_resource blob 'absent_codes' has no data (missing dialect_resources entry)}}
  %w = sd.se_constant codes(dense_resource<absent_codes> : tensor<4x1x2x3xi8>) basis(dense<1.0> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// The same for an upstream constant the pipelines pass through.
func.func @missing_dense_blob() -> tensor<2xf32> {
  // expected-error @+1 {{the CPU code needs the values of 'value': dense_resource blob 'absent_bias' has no data (missing dialect_resources entry)}}
  %b = arith.constant dense_resource<absent_bias> : tensor<2xf32>
  return %b : tensor<2xf32>
}

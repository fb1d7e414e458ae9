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

// RUN: sd-opt %s --convert-sd-to-linalg --split-input-file -verify-diagnostics

func.func @weight_argument(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>,
                           %init: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{cannot lower 'sd.shift_add_matmul': its weight is not defined by sd.se_constant or sd.permdiag_constant in this function}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func private @consume(!sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)

func.func @weight_escapes() {
  // expected-error @+1 {{cannot lower 'sd.se_constant': its weight is used by ops outside the sd dialect}}
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  call @consume(%w) : (!sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) -> ()
  return
}

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

// -----

func.func @quantized_runtime_bias(%x: tensor<1x6xi8>, %b: tensor<4xf32>) -> tensor<1x4xi8> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  // expected-error @+2 {{the bias of a quantized layer must be a constant}}
  // expected-error @+1 {{cannot lower 'sd.quantized_matmul'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         bias(%b : tensor<4xf32>) {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<1x4xi8>
  return %y : tensor<1x4xi8>
}

// -----

func.func @quantized_bad_scales() -> tensor<1x4xi8> {
  %x = arith.constant dense<1> : tensor<1x6xi8>
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  // expected-error @+2 {{cannot quantize this layer: requantization multiplier}}
  // expected-error @+1 {{cannot lower 'sd.quantized_matmul'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         {input_scale = 1.0e6 : f64, output_scale = 1.0e-6 : f64} -> tensor<1x4xi8>
  return %y : tensor<1x4xi8>
}

// -----

func.func @quantized_permdiag_runtime_bias(%x: tensor<1x6xi8>, %b: tensor<4xf32>) -> tensor<1x4xi8> {
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x3xi32>) values(dense<0.5> : tensor<2x3x2xf32>)
         : !sd.permdiag<4x6xf32, p = 2>
  // expected-error @+2 {{the bias of a quantized layer must be a constant}}
  // expected-error @+1 {{cannot lower 'sd.quantized_matmul'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.permdiag<4x6xf32, p = 2>)
         bias(%b : tensor<4xf32>) {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<1x4xi8>
  return %y : tensor<1x4xi8>
}

// -----

func.func @quantized_permdiag_bad_scales() -> tensor<1x4xi8> {
  %x = arith.constant dense<1> : tensor<1x6xi8>
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x3xi32>) values(dense<0.5> : tensor<2x3x2xf32>)
         : !sd.permdiag<4x6xf32, p = 2>
  // expected-error @+2 {{cannot quantize this layer: requantization multiplier}}
  // expected-error @+1 {{cannot lower 'sd.quantized_matmul'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.permdiag<4x6xf32, p = 2>)
         {input_scale = 1.0e6 : f64, output_scale = 1.0e-6 : f64} -> tensor<1x4xi8>
  return %y : tensor<1x4xi8>
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

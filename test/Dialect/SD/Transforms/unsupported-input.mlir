// Inputs outside what sd-opt handles get one clear error naming the op: ops
// of torch-mlir's TMTensor dialect, and TOSA in the pre-2025 syntax (no
// zero-point operands).
// RUN: sd-opt %s --sd-tosa-to-linalg --sd-decompose -split-input-file -verify-diagnostics

func.func @tm_tensor(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{Dialect `tm_tensor' not found for custom op 'tm_tensor.sort'}}
  // expected-note @+1 {{Available dialects:}}
  %0 = tm_tensor.sort dimension(0) outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %c = arith.cmpf olt, %x, %y : f32
    tm_tensor.yield %c : i1
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @old_tosa(%x: tensor<1x6x6x4xf32>, %w: tensor<8x3x3x4xf32>, %b: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  // expected-error @+1 {{'tosa.conv2d' op expected 5 operands, but found 3}}
  %0 = tosa.conv2d %x, %w, %b {dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x6x6x4xf32>, tensor<8x3x3x4xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return %0 : tensor<1x4x4x8xf32>
}

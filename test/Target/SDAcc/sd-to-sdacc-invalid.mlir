// RUN: sd-translate --sd-to-sdacc %s --split-input-file --verify-diagnostics -o /dev/null

func.func @main(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error @-1 {{argument 0 must be a static i8 tensor, got 'tensor<2x6xf32>'}}
  return %x : tensor<2x6xf32>
}

// -----

func.func @main(%x: tensor<2x6xi8>) -> tensor<2x6xi8> {
  // expected-error @+1 {{'arith.addi' has no accelerator instruction; only sd.quantized_conv2d, sd.quantized_matmul, sd.quantized_add, sd.quantized_max_pool2d, sd.quantized_avg_pool2d, sd.quantized_depthwise_conv2d, zero tensor.pad and tensor.collapse_shape map to the accelerator}}
  %y = arith.addi %x, %x : tensor<2x6xi8>
  return %y : tensor<2x6xi8>
}

// -----

func.func @main(%x: tensor<2x6xi8>) -> tensor<2x4xi8> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>
  // expected-error @+1 {{the accelerator cannot run this layer: layer 'layer0': exponent range [-8, 5] has 14 levels; the 4-bit Ce codes hold 7}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>)
         {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<2x4xi8>
  return %y : tensor<2x4xi8>
}

// -----

func.func @main(%x: tensor<1x2x7x7xi8>) -> tensor<1x4x3x3xi8> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>
  // expected-error @+1 {{the accelerator has no dilated convolutions}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x2x7x7xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.1 : f64, dilations = array<i64: 2, 2>} -> tensor<1x4x3x3xi8>
  return %y : tensor<1x4x3x3xi8>
}

// -----

func.func @main(%x: tensor<1x2x6x6xi8>) -> tensor<1x2x8x6xi8> {
  %one = arith.constant 1 : i8
  // expected-error @+1 {{only static zero padding of H and W maps to the accelerator}}
  %p = tensor.pad %x low[0, 0, 1, 0] high[0, 0, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %one : i8
  } : tensor<1x2x6x6xi8> to tensor<1x2x8x6xi8>
  return %p : tensor<1x2x8x6xi8>
}

// -----

// A permuted-diagonal block wider than the PermDNN engine's modular adders.
func.func @main(%x: tensor<1x40xi8>) -> tensor<1x40xi8> {
  %w = sd.permdiag_constant offsets(dense<0> : tensor<1x1xi32>) values(dense<0.5> : tensor<1x1x40xf32>)
         : !sd.permdiag<40x40xf32, p = 40>
  // expected-error @+1 {{the accelerator cannot run this layer: layer 'layer0': block size p = 40 must be in [1, 32] (permdiag_engine.max_block_size)}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x40xi8>, !sd.permdiag<40x40xf32, p = 40>)
         {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<1x40xi8>
  return %y : tensor<1x40xi8>
}

// -----

// An imported, uncompressed model (linalg on f32 tensors) is read and
// refused with what the accelerator needs.
func.func @main(%x: tensor<2x6xf32>, %w: tensor<6x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x4xf32>
  // expected-error @+1 {{the accelerator runs quantized sd IR (sd.quantized_* ops on static i8 tensors), not 'linalg.fill': compress the model (sd-opt --sd-decompose) and quantize it first}}
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x6xf32>, tensor<6x4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @main(%x: tensor<2x3x6xi8>) -> tensor<2x3x4xi8> {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-4, 2]>
  // expected-error @+1 {{the accelerator's fully connected layers take [N, K] inputs}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x3x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<2x3x4xi8>
  return %y : tensor<2x3x4xi8>
}

// -----

func.func @main(%x: tensor<2x6xi8>) -> tensor<2x6xi8> {
  // expected-error @+1 {{cannot return this value from the accelerator: network input 'arg0' cannot also be an output}}
  return %x : tensor<2x6xi8>
}

// -----

func.func @main(%x: tensor<2x6xi8>) -> tensor<2x4xi8> {
  %c = arith.constant dense<1> : tensor<2x6xi8>
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x6xf32, blocks = 1x2, exponents = [-4, 2]>
  // expected-error @+1 {{the input does not come from the function's arguments or an earlier layer}}
  %y = sd.quantized_matmul ins(%c, %w : tensor<2x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.1 : f64} -> tensor<2x4xi8>
  return %y : tensor<2x4xi8>
}

// -----

func.func @main(%x: tensor<1x4x2x2xi8>) -> tensor<1x16xi8> {
  %c = arith.constant dense<1> : tensor<1x4x2x2xi8>
  // expected-error @+1 {{only a layer output or argument can be reshaped for the accelerator}}
  %r = tensor.collapse_shape %c [[0], [1, 2, 3]] : tensor<1x4x2x2xi8> into tensor<1x16xi8>
  return %r : tensor<1x16xi8>
}

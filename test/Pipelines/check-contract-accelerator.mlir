// stage=accelerator: every segment sd-partition outlines (sd.accelerator)
// must build into a program; the error is the exporter's, at the op it
// cannot map. Host functions are not its business.
// RUN: sd-opt %s --sd-check-contract=stage=accelerator --split-input-file --verify-diagnostics
// RUN: not sd-opt %s --sd-check-contract="stage=accelerator config=%t-missing.json" 2>&1 | FileCheck %s --check-prefix=CONFIG
// RUN: not sd-opt %s --sd-to-accelerator=stats=%S/../Dialect/SD/Transforms/Inputs/quantize-stats.json 2>&1 | FileCheck %s --check-prefix=PIPELINE

// CONFIG: error: cannot read hardware configuration '{{.*}}-missing.json'
// The named pipeline ends in the same check.
// PIPELINE: error: the accelerator has no dilated convolutions

func.func private @main_acc0(%x: tensor<1x2x8x8xi8>) -> tensor<1x4x4x4xi8> attributes {sd.accelerator} {
  %w = sd.se_constant codes(dense<2> : tensor<4x1x6x3xi8>) basis(dense<0.25> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>
  // expected-error @+1 {{the accelerator has no dilated convolutions}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x2x8x8xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.2 : f64, dilations = array<i64: 2, 2>} -> tensor<1x4x4x4xi8>
  return %y : tensor<1x4x4x4xi8>
}

// -----

func.func private @main_acc1(%x: tensor<1x16xi8>) -> tensor<1x16xf32> attributes {sd.accelerator} {
  // expected-error @+1 {{'sd.dequantize' has no accelerator instruction}}
  %y = sd.dequantize %x {scale = 0.1 : f64} : tensor<1x16xi8> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

// Host code may hold anything the CPU backend compiles.
func.func @main(%x: tensor<1x16xf32>) -> tensor<1x16xf32> {
  %y = sd.quantize %x {scale = 0.1 : f64} : tensor<1x16xf32> -> tensor<1x16xi8>
  %z = sd.dequantize %y {scale = 0.1 : f64} : tensor<1x16xi8> -> tensor<1x16xf32>
  return %z : tensor<1x16xf32>
}

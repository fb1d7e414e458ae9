// The text form of a translated program: tensors, the layer definition with
// its quantization (f_B, multiplier, shift) and the packed 4-bit codes.
// RUN: sd-translate --sd-to-sdacc-text %s | FileCheck %s

// CHECK:      sdacc-program version=1
// CHECK:      tensor name=arg0 role=input shape=1x2x6x6
// CHECK:      tensor name=t0 role=output shape=1x4x3x3
// CHECK:      layerdef name=layer0 kind=conv format=se input=0 output=1 n=1 c=2 h=6 w=6 k=4 oh=3 ow=3 r=3 s=3 stride_h=2 stride_w=2 pad_top=1 pad_left=1 {{.*}}blocks=1 block_rows=6 code_bits=4 min_exp=-4 max_exp=2 frac_bits_b=8 multiplier={{[0-9]+}} shift={{[0-9]+}} relu=1
// CHECK:      segment kind=codes layer=0
func.func @main(%x: tensor<1x2x6x6xi8>) -> tensor<1x4x3x3xi8> {
  %zero = arith.constant 0 : i8
  %w = sd.se_constant codes(dense<2> : tensor<4x1x6x3xi8>) basis(dense<0.25> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  } : tensor<1x2x6x6xi8> to tensor<1x2x7x7xi8>
  %y = sd.quantized_conv2d ins(%p, %w : tensor<1x2x7x7xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.2 : f64, relu, strides = array<i64: 2, 2>} -> tensor<1x4x3x3xi8>
  return %y : tensor<1x4x3x3xi8>
}

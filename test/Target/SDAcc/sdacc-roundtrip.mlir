// A program file read into the sdacc dialect (one op per instruction,
// verified by the ISA's own checks) and written back is the same file, in
// binary and in text form.
//
// RUN: sd-translate --sd-to-sdacc %s -o %t.bin
// RUN: sd-translate --sd-to-sdacc-text %s -o %t.txt
// RUN: sd-translate --import-sdacc %t.bin -o %t.mlir
// RUN: sd-opt %t.mlir --verify-roundtrip | FileCheck %s
// RUN: sd-translate --export-sdacc-text %t.mlir -o %t.back.txt
// RUN: diff %t.txt %t.back.txt
// RUN: sd-translate --import-sdacc %t.txt | sd-translate --export-sdacc -o %t.back.bin
// RUN: sd-translate --import-sdacc %t.back.bin | sd-translate --export-sdacc-text -o %t.back2.txt
// RUN: diff %t.txt %t.back2.txt

// CHECK:      sdacc.program attributes {data = "sdacc-program version=1
// CHECK-SAME:   fingerprint = "0x
// CHECK:        sdacc.layer {layer = 0 : i64}
// CHECK:        sdacc.cfg_kernel {pad_left = 1 : i64, pad_top = 1 : i64, r = 3 : i64, s = 3 : i64, stride_h = 2 : i64, stride_w = 2 : i64}
// CHECK:        sdacc.load_b
// CHECK:        sdacc.rebuild
// CHECK:        sdacc.mac
// CHECK:        sdacc.requant
// CHECK:        sdacc.dma_store
// CHECK:        sdacc.sync

func.func @main(%x: tensor<1x2x6x6xi8>) -> tensor<1x4x3x3xi8> {
  %zero = arith.constant 0 : i8
  %w = sd.se_constant codes(dense<2> : tensor<4x1x6x3xi8>) basis(dense<0.25> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  } : tensor<1x2x6x6xi8> to tensor<1x2x8x8xi8>
  %y = sd.quantized_conv2d ins(%p, %w : tensor<1x2x8x8xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>)
         {input_scale = 0.1 : f64, output_scale = 0.2 : f64, relu, strides = array<i64: 2, 2>} -> tensor<1x4x3x3xi8>
  return %y : tensor<1x4x3x3xi8>
}

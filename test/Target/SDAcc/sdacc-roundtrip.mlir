// A program file read into the sdacc dialect (tensors, layer table, data
// segments and one op per instruction, verified by the ISA's own checks
// against the program's configuration) and written back is the same file,
// byte for byte, in binary and in text form.
//
// RUN: sd-translate --sd-to-sdacc %s -o %t.bin
// RUN: sd-translate --sd-to-sdacc-text %s -o %t.txt
// RUN: sd-translate --import-sdacc %t.bin -o %t.mlir
// RUN: sd-opt %t.mlir --verify-roundtrip | FileCheck %s
// RUN: sd-translate --export-sdacc-text %t.mlir -o %t.back.txt
// RUN: diff %t.txt %t.back.txt
// RUN: sd-translate --export-sdacc %t.mlir -o %t.back.bin
// RUN: cmp %t.bin %t.back.bin
// RUN: sd-translate --import-sdacc %t.txt | sd-translate --export-sdacc -o %t.back2.bin
// RUN: cmp %t.bin %t.back2.bin
//
// A program built for another configuration carries that configuration, is
// verified against it, and reads only with it.
// RUN: sd-sim --print-config | %PYTHON -c "import json, sys; c = json.load(sys.stdin); c['name'] = 'small-input'; c['buffers']['input']['bytes'] = 65536; json.dump(c, sys.stdout)" > %t.small.json
// RUN: sd-translate --sdacc-config=%t.small.json --sd-to-sdacc %s -o %t.small.bin
// RUN: not sd-translate --import-sdacc %t.small.bin 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: sd-translate --sdacc-config=%t.small.json --import-sdacc %t.small.bin -o %t.small.mlir
// RUN: FileCheck %s --check-prefix=SMALL < %t.small.mlir
// RUN: sd-translate --export-sdacc %t.small.mlir -o %t.small.back.bin
// RUN: cmp %t.small.bin %t.small.back.bin

// MISMATCH: error: the program is built for the hardware configuration with fingerprint 0x{{[0-9a-f]+}}, not for 'smartdeal-default' (0x{{[0-9a-f]+}}): read it with that configuration (--sdacc-config)

// SMALL:      sdacc.program attributes {config = {accumulator = {entries_per_slice = 256 : i64}, buffers = {{{.*}} input = {bytes = 65536 : i64,
// SMALL-SAME:   name = "small-input"

// The default configuration is implied by an absent `config`.
// CHECK:      sdacc.program {
// CHECK-NEXT:   sdacc.tensor "arg0" {dram_addr = 0 : i64, role = #sdacc<tensor_role input>, shape = array<i64: 1, 2, 6, 6>}
// CHECK-NEXT:   sdacc.tensor "t0" {dram_addr = 128 : i64, role = #sdacc<tensor_role output>, shape = array<i64: 1, 4, 3, 3>}
// CHECK-NEXT:   sdacc.layer_decl "layer0" {block_rows = 6 : i64, blocks = 1 : i64, c = 2 : i64, code_bits = 4 : i64, format = #sdacc<weight_format se>, frac_bits_b = 8 : i64, h = 6 : i64, input = "arg0", k = 4 : i64, kind = #sdacc<layer_kind conv>, max_exp = 2 : i64, min_exp = -4 : i64, multiplier = 16384 : i64, multiplier2 = 0 : i64, n = 1 : i64, oh = 3 : i64, output = "t0", ow = 3 : i64, pad_left = 1 : i64, pad_top = 1 : i64, r = 3 : i64, relu = 1 : i64, s = 3 : i64, shift = 27 : i64, stride_h = 2 : i64, stride_w = 2 : i64, w = 6 : i64}
// CHECK-NEXT:   sdacc.segment {bytes = dense<34> : tensor<36xi8>, dram_addr = 192 : i64, kind = #sdacc<dma_kind codes>, layer = 0 : i64}
// CHECK-NEXT:   sdacc.segment {bytes = dense<63> : tensor<4xi8>, dram_addr = 256 : i64, kind = #sdacc<dma_kind index>, layer = 0 : i64}
// CHECK-NEXT:   sdacc.segment {bytes = dense<64> : tensor<36xi8>, dram_addr = 320 : i64, kind = #sdacc<dma_kind basis>, layer = 0 : i64}
// CHECK-NEXT:   sdacc.segment {bytes = dense<0> : tensor<32xi8>, dram_addr = 384 : i64, kind = #sdacc<dma_kind bias>, layer = 0 : i64}
// CHECK-NEXT:   sdacc.layer {layer = 0 : i64}
// CHECK:        sdacc.cfg_kernel {pad_left = 1 : i64, pad_top = 1 : i64, r = 3 : i64, s = 3 : i64, stride_h = 2 : i64, stride_w = 2 : i64}
// CHECK-NEXT:   sdacc.cfg_weight {block_rows = 6 : i64, blocks = 1 : i64, code_bits = 4 : i64, format = #sdacc<weight_format se>, max_exp = 2 : i64, min_exp = -4 : i64}
// CHECK-NEXT:   sdacc.cfg_quant {multiplier = 16384 : i64, relu = true, shift = 27 : i64}
// CHECK-NEXT:   sdacc.dma_load {buf_addr = 0 : i64, count = 1 : i64, dram_addr = 192 : i64, dram_stride = 0 : i64, kind = #sdacc<dma_kind codes>, length = 36 : i64}
// CHECK:        sdacc.load_b
// CHECK:        sdacc.rebuild
// CHECK:        sdacc.mac {acc_addr = 0 : i64, bank = 0 : i64, init = true, npos = 9 : i64, pos0 = 0 : i64}
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

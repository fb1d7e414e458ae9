// --convert-sd-to-sdacc lowers a quantized network (convolutions, max
// pooling, a residual add, global average pooling, a classifier) to one
// sdacc.program, through the same builder and the same program-to-ops code
// as sd-translate: exporting the pass's ops gives the translator's file.
//
// RUN: sd-opt %s --convert-sd-to-sdacc=schedule-report=%t.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: sd-opt %s --convert-sd-to-sdacc | sd-translate --export-sdacc-text -o %t.pass.txt
// RUN: sd-translate --sd-to-sdacc-text %s -o %t.translate.txt
// RUN: diff %t.pass.txt %t.translate.txt
// RUN: not sd-opt %s --convert-sd-to-sdacc=function=other 2>&1 | FileCheck %s --check-prefix=MISSING
// The schedule report is published only when the whole run succeeded.
// RUN: rm -rf %t.d && mkdir %t.d
// RUN: not sd-opt %s --convert-sd-to-sdacc=schedule-report=%t.d/s.json --sd-permdiag="plan=%t-missing.json" 2>&1 | FileCheck %s --check-prefix=LATE
// RUN: ls -A %t.d | FileCheck %s --allow-empty --check-prefix=NOFILES
// RUN: not sd-opt %s --convert-sd-to-sdacc=schedule-report=%t-nodir/s.json 2>&1 | FileCheck %s --check-prefix=NODIR

// LATE: error: cannot read plan file '{{.*}}-missing.json'
// NOFILES-NOT: {{.}}
// NODIR: error: cannot write the schedule report: cannot write '{{.*}}-nodir/s.json': {{.+}}

// CHECK-NOT:  func.func
// CHECK:      sdacc.program {
// CHECK:        sdacc.layer_decl "layer1" {{{.*}}, kind = #sdacc<layer_kind maxpool>
// CHECK:        sdacc.layer_decl "layer3" {{{.*}}, input = "t2", input2 = "t1", k = 54 : i64, kind = #sdacc<layer_kind add>
// CHECK:        sdacc.layer_decl "layer4" {{{.*}}, kind = #sdacc<layer_kind avgpool>
// CHECK:        sdacc.layer {layer = 1 : i64}
// CHECK-NEXT:   sdacc.cfg_input {c = 6 : i64, h = 6 : i64, n = 1 : i64, w = 6 : i64}
// CHECK-NEXT:   sdacc.cfg_output {k = 6 : i64, oh = 3 : i64, ow = 3 : i64}
// CHECK-NEXT:   sdacc.cfg_kernel {pad_left = 1 : i64, pad_top = 1 : i64, r = 3 : i64, s = 3 : i64, stride_h = 2 : i64, stride_w = 2 : i64}
// CHECK:        sdacc.cfg_band
// CHECK-NEXT:   sdacc.pool {avg = false, ch0 = 0 : i64, channels = 6 : i64, npos = 9 : i64, out_addr = 0 : i64, pos0 = 0 : i64}
// CHECK-NEXT:   sdacc.dma_store
// CHECK:        sdacc.layer {layer = 3 : i64}
// CHECK:        sdacc.cfg_add
// CHECK-NEXT:   sdacc.dma_load
// CHECK-NEXT:   sdacc.dma_load
// CHECK-NEXT:   sdacc.add {a_addr = 0 : i64, b_addr = 32768 : i64, length = 54 : i64, out_addr = 0 : i64}
// CHECK-NEXT:   sdacc.dma_store
// CHECK:        sdacc.layer {layer = 4 : i64}
// CHECK:        sdacc.cfg_kernel {pad_left = 0 : i64, pad_top = 0 : i64, r = 3 : i64, s = 3 : i64, stride_h = 1 : i64, stride_w = 1 : i64}
// CHECK-NEXT:   sdacc.cfg_quant
// CHECK:        sdacc.pool {avg = true, ch0 = 0 : i64, channels = 6 : i64, npos = 1 : i64, out_addr = 0 : i64, pos0 = 0 : i64}
// CHECK:        sdacc.layer {layer = 5 : i64}
// CHECK:        sdacc.mac

// REPORT: "layers": [
// REPORT: "name": "layer0"
// REPORT: "format": "se"
// REPORT: "name": "layer1"
// REPORT: "format": "none"
// REPORT: "compulsory": 270
// REPORT: "name": "layer3"
// REPORT: "compulsory": 162

// MISSING: error: no function @other to lower

func.func @main(%x: tensor<1x2x6x6xi8>) -> tensor<1x3xi8> {
  %zero = arith.constant 0 : i8
  %w1 = sd.se_constant codes(dense<2> : tensor<6x1x6x3xi8>) basis(dense<0.25> : tensor<6x1x3x3xf32>)
         : !sd.se<6x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>
  %p1 = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  } : tensor<1x2x6x6xi8> to tensor<1x2x8x8xi8>
  %y1 = sd.quantized_conv2d ins(%p1, %w1 : tensor<1x2x8x8xi8>, !sd.se<6x2x3x3xf32, blocks = 1x6, exponents = [-4, 2]>)
          {input_scale = 0.05 : f64, output_scale = 0.5 : f64, relu} -> tensor<1x6x6x6xi8>
  %m = sd.quantized_max_pool2d ins(%y1 : tensor<1x6x6x6xi8>)
         {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x6x3x3xi8>
  %w2 = sd.se_constant codes(dense<1> : tensor<6x1x18x3xi8>) basis(dense<-0.125> : tensor<6x1x3x3xf32>)
         : !sd.se<6x6x3x3xf32, blocks = 1x18, exponents = [-4, 2]>
  %p2 = tensor.pad %m low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : i8
  } : tensor<1x6x3x3xi8> to tensor<1x6x5x5xi8>
  %y2 = sd.quantized_conv2d ins(%p2, %w2 : tensor<1x6x5x5xi8>, !sd.se<6x6x3x3xf32, blocks = 1x18, exponents = [-4, 2]>)
          {input_scale = 0.5 : f64, output_scale = 0.25 : f64} -> tensor<1x6x3x3xi8>
  %s = sd.quantized_add ins(%y2, %m : tensor<1x6x3x3xi8>, tensor<1x6x3x3xi8>)
         {lhs_scale = 0.25 : f64, rhs_scale = 0.5 : f64, output_scale = 0.75 : f64, relu} -> tensor<1x6x3x3xi8>
  %g = sd.quantized_avg_pool2d ins(%s : tensor<1x6x3x3xi8>)
         {kernel = array<i64: 3, 3>, input_scale = 0.75 : f64, output_scale = 0.5 : f64} -> tensor<1x6x1x1xi8>
  %f = tensor.collapse_shape %g [[0], [1, 2, 3]] : tensor<1x6x1x1xi8> into tensor<1x6xi8>
  %w3 = sd.se_constant codes(dense<3> : tensor<3x1x2x3xi8>) basis(dense<0.5> : tensor<3x1x3x3xf32>)
         : !sd.se<3x6xf32, blocks = 1x2, exponents = [-4, 2]>
  %y = sd.quantized_matmul ins(%f, %w3 : tensor<1x6xi8>, !sd.se<3x6xf32, blocks = 1x2, exponents = [-4, 2]>)
         {input_scale = 0.5 : f64, output_scale = 1.0 : f64} -> tensor<1x3xi8>
  return %y : tensor<1x3xi8>
}

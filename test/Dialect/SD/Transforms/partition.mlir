// RUN: sd-opt %s --sd-partition --split-input-file | FileCheck %s
// RUN: sd-opt %s --sd-partition --split-input-file | FileCheck %s --check-prefix=SPLIT
// Each segment is one accelerator program:
// RUN: sd-opt %s --sd-partition | sd-translate --sd-to-sdacc-text --sdacc-function=main_acc0 | FileCheck %s --check-prefix=PROG0
// RUN: sd-opt %s --sd-partition | sd-translate --sd-to-sdacc-text --sdacc-function=main_acc1 | FileCheck %s --check-prefix=PROG1
// The CPU quantized mode compiles the calls like any other code:
// RUN: sd-opt %s --sd-partition --sd-cpu-to-llvm | FileCheck %s --check-prefix=LLVM

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// Two runs of accelerator ops, cut by host code (the negation between a
// dequantize and a quantize), become two segments; the int8 pad before the
// convolution and the reshape before the classifier go with the layer they
// feed, constants are cloned into the segment that uses them.
// CHECK-LABEL: func.func private @main_acc0(%arg0: tensor<1x2x6x6xi8>) -> tensor<1x4x6x6xi8> attributes {sd.accelerator}
// CHECK:         sd.se_constant
// CHECK:         tensor.pad %arg0
// CHECK:         %[[C:.*]] = sd.quantized_conv2d
// CHECK:         %[[M:.*]] = sd.quantized_max_pool2d ins(%[[C]]
// CHECK:         %[[A:.*]] = sd.quantized_add ins(%[[M]], %[[C]]
// CHECK:         return %[[A]] : tensor<1x4x6x6xi8>
// CHECK-LABEL: func.func private @main_acc1(%arg0: tensor<1x4x6x6xi8>) -> tensor<1x8xi8> attributes {sd.accelerator}
// CHECK:         %[[R:.*]] = tensor.collapse_shape %arg0
// CHECK:         %[[F:.*]] = sd.quantized_matmul ins(%[[R]]
// CHECK:         return %[[F]] : tensor<1x8xi8>
// CHECK-LABEL: func.func @main
// CHECK:         %[[Q:.*]] = sd.quantize %arg0
// CHECK:         %[[S0:.*]] = call @main_acc0(%[[Q]]) : (tensor<1x2x6x6xi8>) -> tensor<1x4x6x6xi8>
// CHECK:         %[[D:.*]] = sd.dequantize %[[S0]]
// CHECK:         %[[N:.*]] = linalg.generic {{.*}} ins(%[[D]]
// CHECK:         %[[Q2:.*]] = sd.quantize %[[N]]
// CHECK:         %[[S1:.*]] = call @main_acc1(%[[Q2]]) : (tensor<1x4x6x6xi8>) -> tensor<1x8xi8>
// CHECK:         %[[O:.*]] = sd.dequantize %[[S1]]
// CHECK:         return %[[O]]
// CHECK-NOT:     sd.quantized
// CHECK-LABEL: func.func private @rows_acc0

// PROG0:      tensor name=arg0 role=input shape=1x2x6x6
// PROG0:      layerdef name=layer0 kind=conv
// PROG0:      layerdef name=layer1 kind=maxpool
// PROG0:      layerdef name=layer2 kind=add
// PROG1:      tensor name=arg0 role=input shape=1x4x6x6
// PROG1:      layerdef name=layer0 kind=fc

// LLVM: llvm.func @main_acc0
// LLVM: llvm.call @main_acc0
func.func @main(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x8xf32> {
  %q = sd.quantize %arg0 {scale = 0.01 : f64} : tensor<1x2x6x6xf32> -> tensor<1x2x6x6xi8>
  %z = arith.constant 0 : i8
  %p = tensor.pad %q low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : i8
  } : tensor<1x2x6x6xi8> to tensor<1x2x8x8xi8>
  %w = sd.se_constant codes(dense<1> : tensor<4x1x6x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>
  %b = arith.constant dense<[0.1, 0.2, 0.3, 0.4]> : tensor<4xf32>
  %c = sd.quantized_conv2d ins(%p, %w : tensor<1x2x8x8xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-2, 1]>)
         bias(%b : tensor<4xf32>) {input_scale = 0.01 : f64, output_scale = 0.02 : f64, relu} -> tensor<1x4x6x6xi8>
  %m = sd.quantized_max_pool2d ins(%c : tensor<1x4x6x6xi8>)
         {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x4x6x6xi8>
  %a = sd.quantized_add ins(%m, %c : tensor<1x4x6x6xi8>, tensor<1x4x6x6xi8>)
         {lhs_scale = 0.02 : f64, rhs_scale = 0.02 : f64, output_scale = 0.03 : f64} -> tensor<1x4x6x6xi8>
  %d = sd.dequantize %a {scale = 0.03 : f64} : tensor<1x4x6x6xi8> -> tensor<1x4x6x6xf32>
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %n = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%d : tensor<1x4x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  } -> tensor<1x4x6x6xf32>
  %q2 = sd.quantize %n {scale = 0.03 : f64} : tensor<1x4x6x6xf32> -> tensor<1x4x6x6xi8>
  %r = tensor.collapse_shape %q2 [[0], [1, 2, 3]] : tensor<1x4x6x6xi8> into tensor<1x144xi8>
  %w2 = sd.se_constant codes(dense<1> : tensor<8x1x48x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
          : !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>
  %f = sd.quantized_matmul ins(%r, %w2 : tensor<1x144xi8>, !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>)
         {input_scale = 0.03 : f64, output_scale = 0.04 : f64} -> tensor<1x8xi8>
  %o = sd.dequantize %f {scale = 0.04 : f64} : tensor<1x8xi8> -> tensor<1x8xf32>
  return %o : tensor<1x8xf32>
}

// -----

// A reshape that folds leading dimensions into rows is not the program's
// [N, rest] view: it stays on the host and the segment takes its result.
// SPLIT-LABEL: func.func private @rows_acc0(%arg0: tensor<40x12xi8>) -> tensor<40x8xi8>
// SPLIT-NEXT:    sd.se_constant
// SPLIT-NEXT:    sd.quantized_matmul ins(%arg0
// SPLIT-LABEL: func.func @rows
// SPLIT:         %[[R:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]]
// SPLIT:         call @rows_acc0(%[[R]])
func.func @rows(%arg0: tensor<1x40x12xi8>) -> tensor<40x8xi8> {
  %r = tensor.collapse_shape %arg0 [[0, 1], [2]] : tensor<1x40x12xi8> into tensor<40x12xi8>
  %w = sd.se_constant codes(dense<1> : tensor<8x1x4x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
         : !sd.se<8x12xf32, blocks = 1x4, exponents = [-2, 1]>
  %f = sd.quantized_matmul ins(%r, %w : tensor<40x12xi8>, !sd.se<8x12xf32, blocks = 1x4, exponents = [-2, 1]>)
         {input_scale = 0.03 : f64, output_scale = 0.04 : f64} -> tensor<40x8xi8>
  return %f : tensor<40x8xi8>
}

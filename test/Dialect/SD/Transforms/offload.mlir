// RUN: sd-opt %s --sd-partition --sd-offload --split-input-file --verify-diagnostics | FileCheck %s
// The hybrid host code compiles with the CPU backend; the runtime's entry
// points stay external:
// RUN: sd-opt %s --sd-partition --sd-offload --split-input-file --verify-diagnostics --sd-cpu-to-llvm | FileCheck %s --check-prefix=LLVM

// The segment's body becomes: every argument handed over by index, a run
// naming the segment (its name as a constant global of bytes: "main_acc0"),
// every result read back by index into a fresh buffer. The host code that
// calls it does not change.
// CHECK-DAG:   func.func private @sdaccSetInput(i64, memref<*xi8>)
// CHECK-DAG:   func.func private @sdaccRun(memref<*xi8>)
// CHECK-DAG:   func.func private @sdaccGetOutput(i64, memref<*xi8>)
// CHECK:       memref.global "private" constant @__sdacc_name_main_acc0 : memref<9xi8> = dense<[109, 97, 105, 110, 95, 97, 99, 99, 48]>
// CHECK-LABEL: func.func private @main_acc0(%arg0: tensor<1x2x6x6xi8>, %arg1: tensor<1x4x6x6xi8>) -> (tensor<1x4x6x6xi8>, tensor<1x4x6x6xi8>) attributes {sd.accelerator}
// CHECK-NOT:     sd.quantized
// CHECK:         %[[B0:.*]] = bufferization.to_buffer %arg0 read_only : tensor<1x2x6x6xi8> to memref<1x2x6x6xi8>
// CHECK:         %[[U0:.*]] = memref.cast %[[B0]] : memref<1x2x6x6xi8> to memref<*xi8>
// CHECK:         %[[C0:.*]] = arith.constant 0 : i64
// CHECK:         call @sdaccSetInput(%[[C0]], %[[U0]])
// CHECK:         %[[B1:.*]] = bufferization.to_buffer %arg1 read_only
// CHECK:         %[[U1:.*]] = memref.cast %[[B1]]
// CHECK:         %[[C1:.*]] = arith.constant 1 : i64
// CHECK:         call @sdaccSetInput(%[[C1]], %[[U1]])
// CHECK:         %[[N:.*]] = memref.get_global @__sdacc_name_main_acc0 : memref<9xi8>
// CHECK:         %[[NU:.*]] = memref.cast %[[N]] : memref<9xi8> to memref<*xi8>
// CHECK:         call @sdaccRun(%[[NU]])
// CHECK:         %[[O0:.*]] = memref.alloc() : memref<1x4x6x6xi8>
// CHECK:         %[[OU0:.*]] = memref.cast %[[O0]]
// CHECK:         %[[D0:.*]] = arith.constant 0 : i64
// CHECK:         call @sdaccGetOutput(%[[D0]], %[[OU0]])
// CHECK:         %[[T0:.*]] = bufferization.to_tensor %[[O0]] restrict writable : memref<1x4x6x6xi8> to tensor<1x4x6x6xi8>
// CHECK:         %[[O1:.*]] = memref.alloc() : memref<1x4x6x6xi8>
// CHECK:         %[[OU1:.*]] = memref.cast %[[O1]]
// CHECK:         %[[D1:.*]] = arith.constant 1 : i64
// CHECK:         call @sdaccGetOutput(%[[D1]], %[[OU1]])
// CHECK:         %[[T1:.*]] = bufferization.to_tensor %[[O1]] restrict writable
// CHECK:         return %[[T0]], %[[T1]]
// CHECK-LABEL: func.func @main
// CHECK:         %[[Q:.*]] = sd.quantize %arg0
// CHECK:         %[[Q1:.*]] = sd.quantize %arg1
// CHECK:         %[[S:.*]]:2 = call @main_acc0(%[[Q]], %[[Q1]])
// CHECK-DAG:     sd.dequantize %[[S]]#0
// CHECK-DAG:     sd.dequantize %[[S]]#1

// LLVM-DAG: llvm.func @sdaccSetInput(i64, i64, !llvm.ptr)
// LLVM-DAG: llvm.func @sdaccRun(i64, !llvm.ptr)
// LLVM-DAG: llvm.func @sdaccGetOutput(i64, i64, !llvm.ptr)
// LLVM:     llvm.func @main_acc0
// LLVM-NOT: llvm.func
// LLVM:     llvm.call @sdaccRun
// LLVM:     llvm.func @main
// LLVM:     llvm.call @main_acc0
func.func @main(%arg0: tensor<1x2x6x6xf32>, %arg1: tensor<1x4x6x6xf32>) -> (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) {
  %q = sd.quantize %arg0 {scale = 0.01 : f64} : tensor<1x2x6x6xf32> -> tensor<1x2x6x6xi8>
  %q1 = sd.quantize %arg1 {scale = 0.02 : f64} : tensor<1x4x6x6xf32> -> tensor<1x4x6x6xi8>
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
  %a = sd.quantized_add ins(%q1, %c : tensor<1x4x6x6xi8>, tensor<1x4x6x6xi8>)
         {lhs_scale = 0.02 : f64, rhs_scale = 0.02 : f64, output_scale = 0.03 : f64} -> tensor<1x4x6x6xi8>
  %d = sd.dequantize %a {scale = 0.03 : f64} : tensor<1x4x6x6xi8> -> tensor<1x4x6x6xf32>
  %dc = sd.dequantize %c {scale = 0.02 : f64} : tensor<1x4x6x6xi8> -> tensor<1x4x6x6xf32>
  return %dc, %d : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
}

// -----

// A module that defines a runtime entry point itself cannot be offloaded.
// expected-error @+1 {{'sdaccRun' is the accelerator runtime's; the module defines it differently}}
func.func private @sdaccRun(i64)
func.func @main(%arg0: tensor<1x144xf32>) -> tensor<1x8xf32> {
  %q = sd.quantize %arg0 {scale = 0.03 : f64} : tensor<1x144xf32> -> tensor<1x144xi8>
  %w2 = sd.se_constant codes(dense<1> : tensor<8x1x48x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
          : !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>
  %f = sd.quantized_matmul ins(%q, %w2 : tensor<1x144xi8>, !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>)
         {input_scale = 0.03 : f64, output_scale = 0.04 : f64} -> tensor<1x8xi8>
  %o = sd.dequantize %f {scale = 0.04 : f64} : tensor<1x8xi8> -> tensor<1x8xf32>
  return %o : tensor<1x8xf32>
}

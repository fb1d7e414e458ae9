// A segment named in `host` keeps its body (the CPU backend computes it);
// the others are offloaded. A name that is no segment is an error.
// RUN: sd-opt %s --sd-partition "--sd-offload=host=main_acc1" | FileCheck %s
// RUN: not sd-opt %s --sd-partition "--sd-offload=host=main_acc7" 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: func.func private @main_acc0
// CHECK:         call @sdaccRun
// CHECK-LABEL: func.func private @main_acc1
// CHECK-NOT:     sdacc
// CHECK:         sd.quantized_matmul
// BAD: error: --sd-offload host=main_acc7: no accelerator segment of that name
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%arg0: tensor<1x144xf32>) -> tensor<1x8xf32> {
  %w2 = sd.se_constant codes(dense<1> : tensor<8x1x48x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
          : !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>
  %w3 = sd.se_constant codes(dense<1> : tensor<8x1x3x3xi8>) basis(dense<0.125> : tensor<8x1x3x3xf32>)
          : !sd.se<8x8xf32, blocks = 1x3, exponents = [-2, 1]>
  %q = sd.quantize %arg0 {scale = 0.03 : f64} : tensor<1x144xf32> -> tensor<1x144xi8>
  %f = sd.quantized_matmul ins(%q, %w2 : tensor<1x144xi8>, !sd.se<8x144xf32, blocks = 1x48, exponents = [-2, 1]>)
         {input_scale = 0.03 : f64, output_scale = 0.04 : f64} -> tensor<1x8xi8>
  %d = sd.dequantize %f {scale = 0.04 : f64} : tensor<1x8xi8> -> tensor<1x8xf32>
  %e = tensor.empty() : tensor<1x8xf32>
  %n = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
         ins(%d : tensor<1x8xf32>) outs(%e : tensor<1x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  } -> tensor<1x8xf32>
  %q2 = sd.quantize %n {scale = 0.04 : f64} : tensor<1x8xf32> -> tensor<1x8xi8>
  %g = sd.quantized_matmul ins(%q2, %w3 : tensor<1x8xi8>, !sd.se<8x8xf32, blocks = 1x3, exponents = [-2, 1]>)
         {input_scale = 0.04 : f64, output_scale = 0.05 : f64} -> tensor<1x8xi8>
  %o = sd.dequantize %g {scale = 0.05 : f64} : tensor<1x8xi8> -> tensor<1x8xf32>
  return %o : tensor<1x8xf32>
}

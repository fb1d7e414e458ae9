// Immutable ml_program globals (torch-mlir's FX path with externalized
// parameters) are read as constants and erased once unread; a mutable
// global and a public one stay. The CPU pipelines run the pass first, so
// such a module runs: 1*2 + 2*3 = 8, plus the mutable state (1) = 9.
// RUN: sd-opt %s --sd-fold-global-constants | FileCheck %s
// RUN: sd-opt %s --sd-tensor-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils | FileCheck %s --check-prefix=OUT

// CHECK-NOT: @w
// CHECK: ml_program.global private mutable @state(dense<1.000000e+00> : tensor<f32>) : tensor<f32>
// CHECK: ml_program.global public @exported(dense<2.000000e+00> : tensor<f32>) : tensor<f32>
// CHECK-LABEL: func.func @main
// CHECK: arith.constant dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK: arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: ml_program.global_load @state
// CHECK-NOT: ml_program.global_load_const
// OUT: [9]
ml_program.global private @w(dense<[2.0, 3.0]> : tensor<2xf32>) : tensor<2xf32>
ml_program.global private mutable @state(dense<1.0> : tensor<f32>) : tensor<f32>
ml_program.global public @exported(dense<2.0> : tensor<f32>) : tensor<f32>
func.func private @printMemrefF32(tensor<*xf32>)
func.func @main() {
  %x = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %w = ml_program.global_load_const @w : tensor<2xf32>
  %e = ml_program.global_load_const @exported : tensor<f32>
  %s = ml_program.global_load @state : tensor<f32>
  %init = arith.subf %e, %e : tensor<f32>
  %d = linalg.dot ins(%x, %w : tensor<2xf32>, tensor<2xf32>) outs(%s : tensor<f32>) -> tensor<f32>
  %r = arith.addf %d, %init : tensor<f32>
  %u = tensor.cast %r : tensor<f32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

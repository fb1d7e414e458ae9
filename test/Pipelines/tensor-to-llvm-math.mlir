// GELU needs math.erf and layer norm math.rsqrt: the pipeline lowers both.
// RUN: sd-opt %s --sd-tensor-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils | FileCheck %s
// CHECK: [1.93471, 1.8427, 1.5]
func.func private @printMemrefF32(tensor<*xf32>)
func.func @main() {
  %x = arith.constant dense<[0.5, 1.0, 4.0]> : tensor<3xf32>
  %e = tensor.empty() : tensor<3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<3xf32>) outs(%e : tensor<3xf32>) {
  ^bb0(%a: f32, %b: f32):
    %r = math.erf %a : f32
    %s = math.rsqrt %a : f32
    %t = arith.addf %r, %s : f32
    linalg.yield %t : f32
  } -> tensor<3xf32>
  %u = tensor.cast %y : tensor<3xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

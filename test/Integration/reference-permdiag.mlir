// A permuted-diagonal weight through the reference lowering and through the
// CPU backend's O(M*N/p) kernel. W is 3x4 with
// p = 2 (padded to 4x4); by hand:
//   block (0,0) k=0: W[0,0]=1 W[1,1]=2    block (0,1) k=1: W[0,3]=3 W[1,2]=4
//   block (1,0) k=1: W[2,1]=5 (W[3,0]=6 is padding)
//   block (1,1) k=0: W[2,2]=7 (W[3,3]=8 is padding)
// so W = [[1,0,0,3],[0,2,4,0],[0,5,7,0]] and x = [1,2,3,4] gives
// x*W^T + 1 = [14, 17, 32].
//
// RUN: sd-opt %s --sd-reference-to-llvm \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// RUN: sd-opt %s --sd-cpu-to-llvm \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %w = sd.permdiag_constant offsets(dense<[[0, 1], [1, 0]]> : tensor<2x2xi32>)
         values(dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>)
         : !sd.permdiag<3x4xf32, p = 2>
  %d = sd.rebuild %w : !sd.permdiag<3x4xf32, p = 2> -> tensor<3x4xf32>
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %b = arith.constant dense<1.0> : tensor<3xf32>
  %init = arith.constant dense<0.0> : tensor<1x3xf32>
  %y = sd.permdiag_matmul ins(%x, %w : tensor<1x4xf32>, !sd.permdiag<3x4xf32, p = 2>)
         bias(%b : tensor<3xf32>) outs(%init : tensor<1x3xf32>) -> tensor<1x3xf32>
  %ud = tensor.cast %d : tensor<3x4xf32> to tensor<*xf32>
  %uy = tensor.cast %y : tensor<1x3xf32> to tensor<*xf32>
  // CHECK: sizes = [3, 4]
  // CHECK-NEXT: [1, 0, 0, 3]
  // CHECK-NEXT: [0, 2, 4, 0]
  // CHECK-NEXT: [0, 5, 7, 0]
  call @printMemrefF32(%ud) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 3]
  // CHECK-NEXT: [14, 17, 32]
  call @printMemrefF32(%uy) : (tensor<*xf32>) -> ()
  return
}

// RUN: sd-opt %s --sd-permdiag="block-size=2 min-size=0" | FileCheck %s
// RUN: sd-opt %s --sd-permdiag="block-size=2 min-size=0 layers=1,fc" -verify-diagnostics -o /dev/null
// RUN: sd-opt %s --sd-permdiag="layers=nope" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNUSED
// RUN: not sd-opt %s --sd-permdiag="block-size=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SIZE

// UNUSED: warning: layers entry 'nope' matches no candidate layer
// SIZE: error: block-size must be at least 1

// The 3x4 weight [[1,0,0,3],[0,2,4,0],[0,5,7,0]] is permuted-diagonal with
// p = 2 (offsets [[0,1],[1,0]]); the projection keeps it exactly.
// CHECK-LABEL: func.func @main
// CHECK-NOT:     linalg.matmul
// CHECK:         %[[W:.*]] = sd.permdiag_constant offsets(dense<{{\[\[}}0, 1], [1, 0]]> : tensor<2x2xi32>) values(dense<{{\[\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]], {{\[\[}}5.000000e+00, 0.000000e+00], [7.000000e+00, 0.000000e+00]]]> : tensor<2x2x2xf32>) : !sd.permdiag<3x4xf32, p = 2>
// CHECK:         sd.permdiag_matmul ins(%arg0, %[[W]] : tensor<1x4xf32>, !sd.permdiag<3x4xf32, p = 2>) outs(%{{.*}} : tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK:         linalg.conv_2d_nchw_fchw
func.func @main(%x: tensor<1x4xf32>, %xc: tensor<1x1x3x3xf32>) -> (tensor<1x3xf32>, tensor<1x1x1x1xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 3.0], [0.0, 2.0, 4.0, 0.0], [0.0, 5.0, 7.0, 0.0]]> : tensor<3x4xf32>
  %e = tensor.empty() : tensor<4x3xf32>
  %wt = linalg.transpose ins(%w : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  %o = tensor.empty() : tensor<1x3xf32>
  %i = linalg.fill ins(%zero : f32) outs(%o : tensor<1x3xf32>) -> tensor<1x3xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<1x4xf32>, tensor<4x3xf32>) outs(%i : tensor<1x3xf32>) -> tensor<1x3xf32> loc("fc")
  %c = arith.constant dense<1.0> : tensor<1x1x3x3xf32>
  %oc = tensor.empty() : tensor<1x1x1x1xf32>
  %ic = linalg.fill ins(%zero : f32) outs(%oc : tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  // expected-remark @+1 {{layer 'layer1' left dense: convolutions are not projected (see the convolutions option)}}
  %yc = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%xc, %c : tensor<1x1x3x3xf32>, tensor<1x1x3x3xf32>) outs(%ic : tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  return %y, %yc : tensor<1x3xf32>, tensor<1x1x1x1xf32>
}

// A 1x1 convolution with a dynamic batch stays dense (its pixels cannot be
// reshaped into matmul rows of static size); a fully connected layer with a
// dynamic batch is projected (the kernels handle it or fall back to the
// reference lowering).
//
// RUN: sd-opt %s --sd-permdiag="min-size=0 convolutions=true plan=%S/Inputs/plans/conv-permdiag.json" 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.err

// REMARK: remark: {{.*}}layer 'conv' left dense: the convolution's input or output shape is not static

// CHECK-LABEL: func.func @dynamic
// CHECK:         linalg.conv_2d_nchw_fchw
// CHECK:         sd.permdiag_matmul ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, !sd.permdiag<6x4xf32, p = 4>)
func.func @dynamic(%x: tensor<?x4x3x3xf32>, %init: tensor<?x6x3x3xf32>, %xf: tensor<?x4xf32>, %if: tensor<?x6xf32>) -> (tensor<?x6x3x3xf32>, tensor<?x6xf32>) {
  %w = arith.constant dense<0.5> : tensor<6x4x1x1xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<?x4x3x3xf32>, tensor<6x4x1x1xf32>) outs(%init : tensor<?x6x3x3xf32>) -> tensor<?x6x3x3xf32> loc("conv")
  %wf = arith.constant dense<0.25> : tensor<4x6xf32>
  %yf = linalg.matmul ins(%xf, %wf : tensor<?x4xf32>, tensor<4x6xf32>) outs(%if : tensor<?x6xf32>) -> tensor<?x6xf32> loc("fc")
  return %y, %yf : tensor<?x6x3x3xf32>, tensor<?x6xf32>
}

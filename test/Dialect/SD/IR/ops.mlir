// RUN: sd-opt %s | FileCheck %s
// RUN: sd-opt %s | sd-opt | FileCheck %s
// RUN: sd-opt %s --mlir-print-op-generic | sd-opt | FileCheck %s

// CHECK-LABEL: func.func @fc
// CHECK:         %[[W:.*]] = sd.se_constant codes(dense<{{.*}}> : tensor<4x1x2x3xi8>) basis(dense<{{.*}}> : tensor<4x1x3x3xf32>) : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>
// CHECK:         %[[D:.*]] = sd.rebuild %[[W]] : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]> -> tensor<4x5xf32>
// CHECK:         %[[Y:.*]] = sd.shift_add_matmul ins(%{{.*}}, %[[W]] : tensor<2x5xf32>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>) bias(%{{.*}} : tensor<4xf32>) outs(%{{.*}} : tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK:         sd.shift_add_matmul ins(%{{.*}}, %[[W]] : tensor<3x2x5xf32>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%{{.*}} : tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
func.func @fc(%x: tensor<2x5xf32>, %x3: tensor<3x2x5xf32>, %b: tensor<4xf32>,
              %init: tensor<2x4xf32>, %init3: tensor<3x2x4xf32>)
    -> (tensor<4x5xf32>, tensor<2x4xf32>, tensor<3x2x4xf32>) {
  %w = sd.se_constant codes(dense<[[[[1, 0, -14], [9, 9, 0]]], [[[0, 0, 0], [2, -3, 4]]],
                                   [[[5, 6, 7], [8, 9, 10]]], [[[-1, -2, -3], [0, 0, 1]]]]> : tensor<4x1x2x3xi8>)
                       basis(dense<0.5> : tensor<4x1x3x3xf32>)
                       : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>
  %d = sd.rebuild %w : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]> -> tensor<4x5xf32>
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x5xf32>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>)
         bias(%b : tensor<4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y3 = sd.shift_add_matmul ins(%x3, %w : tensor<3x2x5xf32>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>)
         outs(%init3 : tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
  return %d, %y, %y3 : tensor<4x5xf32>, tensor<2x4xf32>, tensor<3x2x4xf32>
}

// CHECK-LABEL: func.func @conv
// CHECK:         %[[W:.*]] = sd.se_constant codes(dense_resource<conv_ce> : tensor<2x1x6x3xi5>) basis(dense_resource<conv_b> : tensor<2x1x3x3xf32>) : !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
// CHECK:         sd.shift_add_conv2d ins(%{{.*}}, %[[W]] : tensor<1x2x5x5xf32>, !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%{{.*}} : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK:         sd.shift_add_conv2d {dilations = array<i64: 2, 1>, layout = #sd<conv_layout nhwc>, strides = array<i64: 2, 2>} ins(%{{.*}}, %[[W]] : tensor<1x7x7x2xf32>, !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) bias(%{{.*}} : tensor<2xf32>) outs(%{{.*}} : tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
func.func @conv(%x: tensor<1x2x5x5xf32>, %xh: tensor<1x7x7x2xf32>, %b: tensor<2xf32>,
                %init: tensor<1x2x3x3xf32>, %inith: tensor<1x2x3x2xf32>)
    -> (tensor<1x2x3x3xf32>, tensor<1x2x3x2xf32>) {
  %w = sd.se_constant codes(dense_resource<conv_ce> : tensor<2x1x6x3xi5>)
                       basis(dense_resource<conv_b> : tensor<2x1x3x3xf32>)
                       : !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %yh = sd.shift_add_conv2d {layout = #sd<conv_layout nhwc>, strides = array<i64: 2, 2>, dilations = array<i64: 2, 1>}
         ins(%xh, %w : tensor<1x7x7x2xf32>, !sd.se<2x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         bias(%b : tensor<2xf32>) outs(%inith : tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  return %y, %yh : tensor<1x2x3x3xf32>, tensor<1x2x3x2xf32>
}

// CHECK-LABEL: func.func @permdiag
// CHECK:         %[[W:.*]] = sd.permdiag_constant offsets(dense<{{\[\[}}0, 1, 2], [1, 0, 0]]> : tensor<2x3xi32>) values(dense<{{.*}}> : tensor<2x3x3xf32>) : !sd.permdiag<5x7xf32, p = 3>
// CHECK:         sd.rebuild %[[W]] : !sd.permdiag<5x7xf32, p = 3> -> tensor<5x7xf32>
// CHECK:         sd.permdiag_matmul ins(%{{.*}}, %[[W]] : tensor<2x7xf32>, !sd.permdiag<5x7xf32, p = 3>) bias(%{{.*}} : tensor<5xf32>) outs(%{{.*}} : tensor<2x5xf32>) -> tensor<2x5xf32>
func.func @permdiag(%x: tensor<2x7xf32>, %b: tensor<5xf32>, %init: tensor<2x5xf32>)
    -> (tensor<5x7xf32>, tensor<2x5xf32>) {
  %w = sd.permdiag_constant offsets(dense<[[0, 1, 2], [1, 0, 0]]> : tensor<2x3xi32>)
                            values(dense<1.5> : tensor<2x3x3xf32>)
                            : !sd.permdiag<5x7xf32, p = 3>
  %d = sd.rebuild %w : !sd.permdiag<5x7xf32, p = 3> -> tensor<5x7xf32>
  %y = sd.permdiag_matmul ins(%x, %w : tensor<2x7xf32>, !sd.permdiag<5x7xf32, p = 3>)
         bias(%b : tensor<5xf32>) outs(%init : tensor<2x5xf32>) -> tensor<2x5xf32>
  return %d, %y : tensor<5x7xf32>, tensor<2x5xf32>
}



// CHECK-LABEL: func.func @quantized
// CHECK:         sd.quantized_matmul ins(%{{.*}}, %{{.*}} : tensor<2x5xi8>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>) bias(%{{.*}} : tensor<4xf32>) {input_scale = 5.000000e-02 : f64, output_scale = 1.000000e-01 : f64, relu} -> tensor<2x4xi8>
// CHECK:         sd.quantized_conv2d ins(%{{.*}}, %{{.*}} : tensor<1x2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 2.500000e-01 : f64, output_scale = 5.000000e-01 : f64, strides = array<i64: 2, 2>} -> tensor<1x3x2x2xi8>
func.func @quantized(%x: tensor<2x5xi8>, %b: tensor<4xf32>, %xc: tensor<1x2x5x5xi8>) -> (tensor<2x4xi8>, tensor<1x3x2x2xi8>) {
  %w = sd.se_constant codes(dense<1> : tensor<4x1x2x3xi8>) basis(dense<0.5> : tensor<4x1x3x3xf32>)
         : !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x5xi8>, !sd.se<4x5xf32, blocks = 1x2, exponents = [-8, 5]>)
         bias(%b : tensor<4xf32>) {input_scale = 0.05 : f64, output_scale = 0.1 : f64, relu} -> tensor<2x4xi8>
  %wc = sd.se_constant codes(dense<1> : tensor<3x1x6x3xi8>) basis(dense<0.5> : tensor<3x1x3x3xf32>)
         : !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>
  %yc = sd.quantized_conv2d ins(%xc, %wc : tensor<1x2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>)
         {input_scale = 0.25 : f64, output_scale = 0.5 : f64, strides = array<i64: 2, 2>} -> tensor<1x3x2x2xi8>
  return %y, %yc : tensor<2x4xi8>, tensor<1x3x2x2xi8>
}

// CHECK-LABEL: func.func @quantized_permdiag
// CHECK:         sd.quantized_matmul ins(%{{.*}}, %{{.*}} : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>) bias(%{{.*}} : tensor<5xf32>) {input_scale = 5.000000e-02 : f64, output_scale = 1.000000e-01 : f64} -> tensor<2x5xi8>
func.func @quantized_permdiag(%x: tensor<2x7xi8>, %b: tensor<5xf32>) -> tensor<2x5xi8> {
  %w = sd.permdiag_constant offsets(dense<[[0, 1, 2], [1, 0, 0]]> : tensor<2x3xi32>)
         values(dense<0.5> : tensor<2x3x3xf32>) : !sd.permdiag<5x7xf32, p = 3>
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>)
         bias(%b : tensor<5xf32>) {input_scale = 0.05 : f64, output_scale = 0.1 : f64} -> tensor<2x5xi8>
  return %y : tensor<2x5xi8>
}

// CHECK-LABEL: func.func @network_ops
// CHECK:         sd.quantized_add ins(%{{.*}}, %{{.*}} : tensor<1x2x4x4xi8>, tensor<1x2x4x4xi8>) {lhs_scale = 1.000000e-01 : f64, output_scale = 2.500000e-01 : f64, relu, rhs_scale = 5.000000e-02 : f64} -> tensor<1x2x4x4xi8>
// CHECK:         sd.quantized_max_pool2d ins(%{{.*}} : tensor<1x2x4x4xi8>) {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} -> tensor<1x2x2x2xi8>
// CHECK:         sd.quantized_avg_pool2d ins(%{{.*}} : tensor<1x2x2x2xi8>) {input_scale = 2.500000e-01 : f64, kernel = array<i64: 2, 2>, output_scale = 1.250000e-01 : f64} -> tensor<1x2x1x1xi8>
// CHECK:         sd.quantized_depthwise_conv2d ins(%{{.*}}, %{{.*}} : tensor<1x2x4x4xi8>, tensor<2x1x3x3xf32>) bias(%{{.*}} : tensor<2xf32>) {input_scale = 1.000000e-01 : f64, output_scale = 2.000000e-01 : f64} -> tensor<1x2x2x2xi8>
func.func @network_ops(%a: tensor<1x2x4x4xi8>, %b: tensor<1x2x4x4xi8>, %w: tensor<2x1x3x3xf32>, %bias: tensor<2xf32>)
    -> (tensor<1x2x1x1xi8>, tensor<1x2x2x2xi8>) {
  %s = sd.quantized_add ins(%a, %b : tensor<1x2x4x4xi8>, tensor<1x2x4x4xi8>)
         {lhs_scale = 0.1 : f64, rhs_scale = 0.05 : f64, output_scale = 0.25 : f64, relu} -> tensor<1x2x4x4xi8>
  %m = sd.quantized_max_pool2d ins(%s : tensor<1x2x4x4xi8>)
         {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x2x2x2xi8>
  %g = sd.quantized_avg_pool2d ins(%m : tensor<1x2x2x2xi8>)
         {kernel = array<i64: 2, 2>, input_scale = 0.25 : f64, output_scale = 0.125 : f64} -> tensor<1x2x1x1xi8>
  %d = sd.quantized_depthwise_conv2d ins(%a, %w : tensor<1x2x4x4xi8>, tensor<2x1x3x3xf32>) bias(%bias : tensor<2xf32>)
         {input_scale = 0.1 : f64, output_scale = 0.2 : f64, strides = array<i64: 1, 1>} -> tensor<1x2x2x2xi8>
  return %g, %d : tensor<1x2x1x1xi8>, tensor<1x2x2x2xi8>
}

// The resource blobs survive the round trip.
// CHECK:       {-#
// CHECK:         dialect_resources: {
// CHECK:           builtin: {
// CHECK-DAG:         conv_ce: "0x01000000
// CHECK-DAG:         conv_b: "0x04000000

{-#
  dialect_resources: {
    builtin: {
      conv_ce: "0x01000000090A0B0C0D0E0102030405060708090A0B0C0D0EF2F3F4F5F6F7F8F9FAFBFCFDFEFF0001",
      conv_b: "0x040000000000803F0000000000000000000000000000803F0000000000000000000000000000803F0000803F0000000000000000000000000000803F0000000000000000000000000000803F"
    }
  }
#-}

// --sd-schedule splits a depthwise layer whose band of one output row of
// every channel does not fit half the buffers into the fewest equal channel
// groups that do, by the program builder's own rule. With 1 KiB input and
// 512 B output buffers, one output row of 24 channels of 6x16 (3x3 kernel)
// needs 3 x 24 x 16 = 1152 input bytes > 512: three groups of 8 (384 B).
// RUN: sd-sim --print-config | %PYTHON -c "import json,sys; c=json.load(sys.stdin); c['buffers']['input']['bytes']=1024; c['buffers']['output']['bytes']=512; json.dump(c, open(sys.argv[1], 'w'))" %t.json
// RUN: sd-opt %s --sd-schedule=config=%t.json | FileCheck %s
// Unsplit, the program builder refuses the layer; split, every group is a
// program of its own:
// RUN: sd-opt %s --sd-partition | not sd-translate --sd-to-sdacc --sdacc-config=%t.json --sdacc-function=main_acc0 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REFUSED
// RUN: sd-opt %s --sd-schedule=config=%t.json --sd-partition | sd-translate --sd-to-sdacc-text --sdacc-config=%t.json --sdacc-function=main_acc2 | FileCheck %s --check-prefix=GROUP
// The default hardware needs no split:
// RUN: sd-opt %s --sd-schedule | FileCheck %s --check-prefix=DEFAULT
// A configuration that cannot be read is an error naming it:
// RUN: not sd-opt %s --sd-schedule=config=%t.missing.json 2>&1 | FileCheck %s --check-prefix=BADCONFIG

// CHECK-LABEL: func.func @main
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<1x24x6x16xi8>
// CHECK:         %[[S0:.*]] = tensor.extract_slice %[[Q:.*]][0, 0, 0, 0] [1, 8, 6, 16] [1, 1, 1, 1] : tensor<1x24x6x16xi8> to tensor<1x8x6x16xi8>
// CHECK:         %[[P0:.*]] = tensor.pad %[[S0]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:         } : tensor<1x8x6x16xi8> to tensor<1x8x8x18xi8>
// CHECK:         %[[W0:.*]] = arith.constant dense<{{\[\[\[}}[-5.000000e-01, 2.000000e-01, -2.000000e-01]
// CHECK-SAME:      tensor<8x1x3x3xf32>
// CHECK:         %[[B0:.*]] = arith.constant dense<[-2.000000e-01, -1.000000e-01, 0.000000e+00, 1.000000e-01, 2.000000e-01, -2.000000e-01, -1.000000e-01, 0.000000e+00]> : tensor<8xf32>
// CHECK:         %[[D0:.*]] = sd.quantized_depthwise_conv2d ins(%[[P0]], %[[W0]] : tensor<1x8x8x18xi8>, tensor<8x1x3x3xf32>) bias(%[[B0]] : tensor<8xf32>) {{{.*}}relu{{.*}}} -> tensor<1x8x6x16xi8>
// CHECK:         %[[I0:.*]] = tensor.insert_slice %[[D0]] into %[[E]][0, 0, 0, 0] [1, 8, 6, 16] [1, 1, 1, 1]
// CHECK:         tensor.extract_slice %[[Q]][0, 8, 0, 0] [1, 8, 6, 16]
// CHECK:         %[[W1:.*]] = arith.constant dense<{{\[\[\[}}[4.000000e-01, 0.000000e+00, -4.000000e-01]
// CHECK:         %[[B1:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01, -2.000000e-01
// CHECK:         %[[I1:.*]] = tensor.insert_slice %{{.*}} into %[[I0]][0, 8, 0, 0] [1, 8, 6, 16]
// CHECK:         tensor.extract_slice %[[Q]][0, 16, 0, 0] [1, 8, 6, 16]
// CHECK:         %[[I2:.*]] = tensor.insert_slice %{{.*}} into %[[I1]][0, 16, 0, 0] [1, 8, 6, 16]
// CHECK:         sd.dequantize %[[I2]]
// CHECK-NOT:     tensor<24x1x3x3xf32>

// REFUSED: one output row of every channel does not fit half the input and output buffers (sd-opt --sd-schedule splits the channels)

// GROUP: tensor name=arg0 role=input shape=1x8x6x16
// GROUP: layerdef name=layer0 kind=dwconv {{.*}} c=8 h=6 w=16 k=8 oh=6 ow=16 r=3 s=3 {{.*}} pad_top=1 pad_left=1

// DEFAULT: sd.quantized_depthwise_conv2d {{.*}} -> tensor<1x24x6x16xi8>
// DEFAULT-NOT: tensor.extract_slice

// BADCONFIG: error: --sd-schedule: {{.*}}missing.json
func.func @main(%arg0: tensor<1x24x6x16xf32>) -> tensor<1x24x6x16xf32> {
  %q = sd.quantize %arg0 {scale = 0.02 : f64} : tensor<1x24x6x16xf32> -> tensor<1x24x6x16xi8>
  %z = arith.constant 0 : i8
  %p = tensor.pad %q low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : i8
  } : tensor<1x24x6x16xi8> to tensor<1x24x8x18xi8>
  %w = arith.constant dense<[[[[-0.5, 0.2, -0.2], [0.5, 0.1, -0.3], [0.4, 0.0, -0.4]]], [[[0.3, -0.1, -0.5], [0.2, -0.2, 0.5], [0.1, -0.3, 0.4]]], [[[0.0, -0.4, 0.3], [-0.1, -0.5, 0.2], [-0.2, 0.5, 0.1]]], [[[-0.3, 0.4, 0.0], [-0.4, 0.3, -0.1], [-0.5, 0.2, -0.2]]], [[[0.5, 0.1, -0.3], [0.4, 0.0, -0.4], [0.3, -0.1, -0.5]]], [[[0.2, -0.2, 0.5], [0.1, -0.3, 0.4], [0.0, -0.4, 0.3]]], [[[-0.1, -0.5, 0.2], [-0.2, 0.5, 0.1], [-0.3, 0.4, 0.0]]], [[[-0.4, 0.3, -0.1], [-0.5, 0.2, -0.2], [0.5, 0.1, -0.3]]], [[[0.4, 0.0, -0.4], [0.3, -0.1, -0.5], [0.2, -0.2, 0.5]]], [[[0.1, -0.3, 0.4], [0.0, -0.4, 0.3], [-0.1, -0.5, 0.2]]], [[[-0.2, 0.5, 0.1], [-0.3, 0.4, 0.0], [-0.4, 0.3, -0.1]]], [[[-0.5, 0.2, -0.2], [0.5, 0.1, -0.3], [0.4, 0.0, -0.4]]], [[[0.3, -0.1, -0.5], [0.2, -0.2, 0.5], [0.1, -0.3, 0.4]]], [[[0.0, -0.4, 0.3], [-0.1, -0.5, 0.2], [-0.2, 0.5, 0.1]]], [[[-0.3, 0.4, 0.0], [-0.4, 0.3, -0.1], [-0.5, 0.2, -0.2]]], [[[0.5, 0.1, -0.3], [0.4, 0.0, -0.4], [0.3, -0.1, -0.5]]], [[[0.2, -0.2, 0.5], [0.1, -0.3, 0.4], [0.0, -0.4, 0.3]]], [[[-0.1, -0.5, 0.2], [-0.2, 0.5, 0.1], [-0.3, 0.4, 0.0]]], [[[-0.4, 0.3, -0.1], [-0.5, 0.2, -0.2], [0.5, 0.1, -0.3]]], [[[0.4, 0.0, -0.4], [0.3, -0.1, -0.5], [0.2, -0.2, 0.5]]], [[[0.1, -0.3, 0.4], [0.0, -0.4, 0.3], [-0.1, -0.5, 0.2]]], [[[-0.2, 0.5, 0.1], [-0.3, 0.4, 0.0], [-0.4, 0.3, -0.1]]], [[[-0.5, 0.2, -0.2], [0.5, 0.1, -0.3], [0.4, 0.0, -0.4]]], [[[0.3, -0.1, -0.5], [0.2, -0.2, 0.5], [0.1, -0.3, 0.4]]]]> : tensor<24x1x3x3xf32>
  %b = arith.constant dense<[-0.2, -0.1, 0.0, 0.1, 0.2, -0.2, -0.1, 0.0, 0.1, 0.2, -0.2, -0.1, 0.0, 0.1, 0.2, -0.2, -0.1, 0.0, 0.1, 0.2, -0.2, -0.1, 0.0, 0.1]> : tensor<24xf32>
  %d = sd.quantized_depthwise_conv2d ins(%p, %w : tensor<1x24x8x18xi8>, tensor<24x1x3x3xf32>) bias(%b : tensor<24xf32>)
         {input_scale = 0.02 : f64, output_scale = 0.05 : f64, relu} -> tensor<1x24x6x16xi8>
  %o = sd.dequantize %d {scale = 0.05 : f64} : tensor<1x24x6x16xi8> -> tensor<1x24x6x16xf32>
  return %o : tensor<1x24x6x16xf32>
}

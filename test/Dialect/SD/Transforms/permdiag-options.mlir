// sd-permdiag options: per-layer p and form from the plan file sd-decompose
// reads too, 1x1 convolutions, padding, the report, and every diagnostic.
//
// RUN: sd-opt %s --sd-permdiag="min-size=0 convolutions=true plan=%S/Inputs/plans/permdiag-mixed.json report=%t.json" 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.err
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: FileCheck %s --check-prefix=TABLE < %t.md
// RUN: sd-opt %s --sd-permdiag="min-size=0 convolutions=true plan=%S/Inputs/plans/fc2-permdiag.json" -o - 2>&1 | FileCheck %s --check-prefix=PLAN
// RUN: sd-opt %s --sd-permdiag="min-size=0 layers=conv1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOCONV
//
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/p-zero.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PZERO
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/p-text.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PTEXT
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/bad-form.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FORM
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/bad-skip.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SKIP
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/unknown-key.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not sd-opt %s --sd-permdiag="plan=%S/Inputs/plans/not-an-object.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOKEY
// RUN: not sd-opt %s --sd-permdiag="form=bogus" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PASSFORM
// RUN: sd-opt %s --sd-permdiag="min-size=0 plan=%S/Inputs/plans/unused-fc9-p.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNUSED
// RUN: not sd-opt %s --sd-permdiag="min-size=0 report=%t-missing-dir/r.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOWRITE
// A block larger than the layer is refused at once (it used to run for
// minutes: the projection costs p^2 per block).
// RUN: not sd-opt %s --sd-permdiag="min-size=0 block-size=1000000000" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PHUGE
// RUN: not sd-opt %s --sd-permdiag="min-size=-1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MINSIZE

// PZERO: error: {{.*}}p-zero.json: layers.fc1.p: expected an integer of at least 1, got 0
// PTEXT: error: {{.*}}p-text.json: layers.fc1.p: expected an integer of at least 1, got "abc"
// FORM: error: {{.*}}bad-form.json: layers.fc1.form: expected se, permdiag, int or dense, got "lowrank"
// SKIP: error: {{.*}}bad-skip.json: layers.fc1.skip: expected true or false, got "maybe"
// UNKNOWN: error: {{.*}}unknown-key.json: layers.fc1: unknown key 'foo' (expected form, skip, threshold, iterations, min-exp, max-exp, block-rows, structured-fraction, row-threshold, column-scale, p, bits, rounding)
// NOKEY: error: {{.*}}not-an-object.json: layers.fc1: expected an object of settings
// PASSFORM: error: form must be permdiag, se or dense, not 'bogus'
// UNUSED: warning: plan entry 'fc9' matches no candidate layer
// NOWRITE: error: cannot write '{{.*}}-missing-dir/r.json': {{.+}}
// PHUGE: error: {{.*}}cannot project layer 'fc1': block size p = 1000000000 is larger than the 6x8 weight
// MINSIZE: error: min-size must be >= 0, got -1
// REMARK: remark: {{.*}}layer 'conv3' left dense: only 1x1 convolutions are projected, this kernel is 3x3
// REMARK-NOT: remark
// NOCONV: remark: {{.*}}layer 'conv1' left dense: convolutions are not projected (see the convolutions option)

// fc1 gets p = 3 (8 columns padded to 9; the SmartExchange key is ignored),
// fc2 is left to sd-decompose, the 1x1 convolutions get the default p = 4
// and run as matmuls over their pixels.
// CHECK-LABEL: func.func @main
// CHECK:         %[[W1:.*]] = sd.permdiag_constant {{.*}} : !sd.permdiag<6x8xf32, p = 3>
// CHECK:         %[[H:.*]] = sd.permdiag_matmul ins(%{{.*}}, %[[W1]] : tensor<2x8xf32>, !sd.permdiag<6x8xf32, p = 3>)
// CHECK:         linalg.matmul ins(%[[H]]
// CHECK:         %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 4, 2, 2] [1, 1, 2, 2] : tensor<1x4x4x4xf32> to tensor<1x4x2x2xf32>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[S]] : tensor<1x4x2x2xf32>) outs(%{{.*}} : tensor<1x2x2x4xf32>) permutation = [0, 2, 3, 1]
// CHECK:         %[[X2:.*]] = tensor.collapse_shape %[[XT]] {{\[\[}}0, 1, 2], [3]] : tensor<1x2x2x4xf32> into tensor<4x4xf32>
// CHECK:         %[[IT:.*]] = linalg.transpose ins(%{{.*}} : tensor<1x6x2x2xf32>) outs(%{{.*}} : tensor<1x2x2x6xf32>) permutation = [0, 2, 3, 1]
// CHECK:         %[[I2:.*]] = tensor.collapse_shape %[[IT]] {{\[\[}}0, 1, 2], [3]] : tensor<1x2x2x6xf32> into tensor<4x6xf32>
// CHECK:         %[[Y2:.*]] = sd.permdiag_matmul ins(%[[X2]], %{{.*}} : tensor<4x4xf32>, !sd.permdiag<6x4xf32, p = 4>) outs(%[[I2]] : tensor<4x6xf32>) -> tensor<4x6xf32>
// CHECK:         %[[Y4:.*]] = tensor.expand_shape %[[Y2]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 2, 2, 6] : tensor<4x6xf32> into tensor<1x2x2x6xf32>
// CHECK:         linalg.transpose ins(%[[Y4]] : tensor<1x2x2x6xf32>) outs(%{{.*}} : tensor<1x6x2x2xf32>) permutation = [0, 3, 1, 2]
// CHECK:         %[[N2:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3]] : tensor<1x3x3x4xf32> into tensor<9x4xf32>
// CHECK:         sd.permdiag_matmul ins(%[[N2]], %{{.*}} : tensor<9x4xf32>, !sd.permdiag<5x4xf32, p = 4>)
// CHECK:         linalg.conv_2d_nchw_fchw
// CHECK-NOT:     sd.

// PLAN-NOT:      sd.permdiag_constant {{.*}} : !sd.permdiag<6x8xf32
// PLAN:          sd.permdiag_constant {{.*}} : !sd.permdiag<5x6xf32, p = 2>
// PLAN-NOT:      sd.permdiag_constant

// REPORT:          "form": "permdiag",
// REPORT:          "kept_energy": {{[0-9.e-]+}},
// REPORT:          "name": "fc1",
// REPORT:          "p": 3,
// REPORT-NEXT:     "padded_shape": [
// REPORT-NEXT:       6,
// REPORT-NEXT:       9
// REPORT:          "form": "dense",
// REPORT-NEXT:     "index": 1,
// REPORT-NEXT:     "name": "fc2",
// REPORT-NEXT:     "op": "linalg.matmul",
// REPORT-NEXT:     "reason": "its form is se",
// REPORT:          "name": "conv1",
// REPORT:          "p": 4,
// REPORT:          "reason": "only 1x1 convolutions are projected, this kernel is 3x3",
// REPORT:        "totals": {
// REPORT:          "candidate_layers": 5,
// REPORT-NEXT:     "compressed_layers": 3,

// TABLE:      | 0 | fc1 | linalg.matmul | 6x8 | permdiag | 6x3 | 0.333 | {{[0-9.]+}} | {{[0-9.]+}} | {{[0-9.]+}} | p = 3, kept energy {{[0-9.]+}}, padded to 6x9 |
// TABLE-NEXT: | 1 | fc2 | linalg.matmul | 5x6 | dense | - | - | 1.00 | - | - | its form is se |
// TABLE-NEXT: | 2 | conv1 | linalg.conv_2d_nchw_fchw | 6x4x1x1 | permdiag | 2x4 | 0.250 | {{[0-9.]+}} | {{[0-9.]+}} | {{[0-9.]+}} | p = 4, kept energy {{[0-9.]+}}, padded to 8x4 |
// TABLE-NEXT: | 3 | convn | linalg.conv_2d_nhwc_fhwc | 5x4x1x1 | permdiag | 2x4 | 0.250 |
// TABLE-NEXT: | 4 | conv3 | linalg.conv_2d_nchw_fchw | 2x4x3x3 | dense |

func.func @main(%x: tensor<2x8xf32>, %xc: tensor<1x4x4x4xf32>, %xn: tensor<1x3x3x4xf32>) -> (tensor<2x5xf32>, tensor<1x6x2x2xf32>, tensor<1x3x3x5xf32>, tensor<1x2x2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], [5.0, 3.0, 5.0, 8.0, 9.0, 7.0, 9.0, 3.0], [2.0, 3.0, 8.0, 4.0, 6.0, 2.0, 6.0, 4.0], [3.0, 3.0, 8.0, 3.0, 2.0, 7.0, 9.0, 5.0]]> : tensor<6x8xf32>
  %e1 = tensor.empty() : tensor<8x6xf32>
  %t1 = linalg.transpose ins(%w1 : tensor<6x8xf32>) outs(%e1 : tensor<8x6xf32>) permutation = [1, 0]
  %o1 = tensor.empty() : tensor<2x6xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%o1 : tensor<2x6xf32>) -> tensor<2x6xf32>
  %h = linalg.matmul ins(%x, %t1 : tensor<2x8xf32>, tensor<8x6xf32>) outs(%i1 : tensor<2x6xf32>) -> tensor<2x6xf32> loc("fc1")
  %w2 = arith.constant dense<0.5> : tensor<6x5xf32>
  %o2 = tensor.empty() : tensor<2x5xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%o2 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<2x6xf32>, tensor<6x5xf32>) outs(%i2 : tensor<2x5xf32>) -> tensor<2x5xf32> loc("fc2")
  %wc = arith.constant dense<0.25> : tensor<6x4x1x1xf32>
  %oc = tensor.empty() : tensor<1x6x2x2xf32>
  %ic = linalg.fill ins(%zero : f32) outs(%oc : tensor<1x6x2x2xf32>) -> tensor<1x6x2x2xf32>
  %yc = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
          ins(%xc, %wc : tensor<1x4x4x4xf32>, tensor<6x4x1x1xf32>) outs(%ic : tensor<1x6x2x2xf32>) -> tensor<1x6x2x2xf32> loc("conv1")
  %wn = arith.constant dense<0.75> : tensor<5x1x1x4xf32>
  %on = tensor.empty() : tensor<1x3x3x5xf32>
  %in = linalg.fill ins(%zero : f32) outs(%on : tensor<1x3x3x5xf32>) -> tensor<1x3x3x5xf32>
  %yn = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%xn, %wn : tensor<1x3x3x4xf32>, tensor<5x1x1x4xf32>) outs(%in : tensor<1x3x3x5xf32>) -> tensor<1x3x3x5xf32> loc("convn")
  %w3 = arith.constant dense<1.0> : tensor<2x4x3x3xf32>
  %o3 = tensor.empty() : tensor<1x2x2x2xf32>
  %i3 = linalg.fill ins(%zero : f32) outs(%o3 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %y3 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
          ins(%xc, %w3 : tensor<1x4x4x4xf32>, tensor<2x4x3x3xf32>) outs(%i3 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("conv3")
  return %y, %yc, %yn, %y3 : tensor<2x5xf32>, tensor<1x6x2x2xf32>, tensor<1x3x3x5xf32>, tensor<1x2x2x2xf32>
}

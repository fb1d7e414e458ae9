// RUN: sd-opt %s --convert-sd-to-cpu="permdiag-rows=2" --canonicalize | FileCheck %s

// The permuted-diagonal kernel: x (5 columns, p = 4) is padded to 8 and
// doubled into [M, 2 blocks, 8]; the 6 outputs are padded to 8 rows. Five
// input rows go in two groups of 2 sharing each block's loads, then one more
// row. Per block: the offset (one byte), one 4-lane load of values, and per
// input row one 4-lane load of x at the offset, a multiply and an add (no
// FMA, no gather, no dense weight).
// CHECK-LABEL: func.func @permdiag
// CHECK-DAG:     %[[K:.*]] = arith.constant dense<{{.*}}> : tensor<2x2xi8>
// CHECK-DAG:     %[[V:.*]] = arith.constant dense<{{.*}}> : tensor<2x2x4xf32>
// CHECK-NOT:     tensor<6x5xf32>
// CHECK:         tensor.pad %{{.*}} low[0, 0] high[0, 3]
// CHECK:         tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0] [5, 2, 4] [1, 1, 1] : tensor<5x2x4xf32> into tensor<5x2x8xf32>
// CHECK:         %[[XX:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 4] [5, 2, 4] [1, 1, 1] : tensor<5x2x4xf32> into tensor<5x2x8xf32>
// CHECK:         %[[Y:.*]] = tensor.pad %{{.*}} low[0, 0] high[0, 2]
// CHECK:         scf.for %{{.*}} = %c0 to %c4 step %c2
// CHECK:           scf.for %[[I:.*]] = %c0 to %c2 step %c1
// CHECK-COUNT-2:     vector.transfer_read {{.*}} : tensor<5x8xf32>, vector<4xf32>
// CHECK:             scf.for %[[J:.*]] = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>)
// CHECK:               %[[KE:.*]] = tensor.extract %[[K]][%[[I]], %[[J]]] : tensor<2x2xi8>
// CHECK:               %[[KI:.*]] = arith.index_cast %[[KE]] : i8 to index
// CHECK:               %[[Q:.*]] = vector.transfer_read %[[V]][%[[I]], %[[J]], %c0]{{.*}} : tensor<2x2x4xf32>, vector<4xf32>
// CHECK:               %[[X0:.*]] = vector.transfer_read %[[XX]][%{{.*}}, %[[J]], %[[KI]]]{{.*}} : tensor<5x2x8xf32>, vector<4xf32>
// CHECK:               %[[P0:.*]] = arith.mulf %[[Q]], %[[X0]] : vector<4xf32>
// CHECK:               arith.addf %{{.*}}, %[[P0]] : vector<4xf32>
// CHECK:               vector.transfer_read %[[XX]][%{{.*}}, %[[J]], %[[KI]]]{{.*}} : tensor<5x2x8xf32>, vector<4xf32>
// CHECK-NOT:           vector.fma
// CHECK:             vector.transfer_write {{.*}} : vector<4xf32>, tensor<5x8xf32>
// CHECK:             vector.transfer_write {{.*}} : vector<4xf32>, tensor<5x8xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c2 step %c1
// CHECK:           vector.transfer_read %{{.*}}[%c4, %{{.*}}]{{.*}} : tensor<5x8xf32>, vector<4xf32>
// CHECK:           scf.for {{.*}} -> (vector<4xf32>)
// CHECK:         tensor.extract_slice %{{.*}}[0, 0] [5, 6] [1, 1] : tensor<5x8xf32> to tensor<5x6xf32>
// CHECK-NOT:     sd.
func.func @permdiag(%x: tensor<5x5xf32>, %init: tensor<5x6xf32>) -> tensor<5x6xf32> {
  %w = sd.permdiag_constant offsets(dense<[[0, 3], [2, 1]]> : tensor<2x2xi32>)
         values(dense<[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], [[9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]]> : tensor<2x2x4xf32>)
         : !sd.permdiag<6x5xf32, p = 4>
  %y = sd.permdiag_matmul ins(%x, %w : tensor<5x5xf32>, !sd.permdiag<6x5xf32, p = 4>)
         outs(%init : tensor<5x6xf32>) -> tensor<5x6xf32>
  return %y : tensor<5x6xf32>
}

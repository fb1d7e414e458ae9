// Two permuted-diagonal layers (p = 4, then p = 3) for permdiag.test.
func.func @main(%x: tensor<2x10xi8>) -> tensor<2x5xi8> {
  %w0 = sd.permdiag_constant offsets(dense<[[0, 1, 3], [2, 3, 1]]> : tensor<2x3xi32>)
          values(dense<-0.5> : tensor<2x3x4xf32>) : !sd.permdiag<7x10xf32, p = 4>
  %b0 = arith.constant dense<[0.5, -0.25, 1.0, 0.0, 2.0, -1.5, 0.75]> : tensor<7xf32>
  %y0 = sd.quantized_matmul ins(%x, %w0 : tensor<2x10xi8>, !sd.permdiag<7x10xf32, p = 4>)
          bias(%b0 : tensor<7xf32>) {input_scale = 0.05 : f64, output_scale = 0.1 : f64, relu}
          -> tensor<2x7xi8>
  %w1 = sd.permdiag_constant offsets(dense<[[2, 0, 1], [1, 1, 0]]> : tensor<2x3xi32>)
          values(dense<[[[0.5, -0.25, 1.0], [0.125, 0.75, -1.0], [0.5, 0.5, -0.5]],
                        [[1.0, -1.0, 0.25], [0.0, 0.5, 0.25], [-0.75, 0.5, 1.0]]]> : tensor<2x3x3xf32>)
          : !sd.permdiag<5x7xf32, p = 3>
  %y1 = sd.quantized_matmul ins(%y0, %w1 : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>)
          {input_scale = 0.1 : f64, output_scale = 0.2 : f64} -> tensor<2x5xi8>
  return %y1 : tensor<2x5xi8>
}

// An accelerator program beside host code: no LLVM lowering touches it,
// so the contract check is what stops it (check-contract-llvm.mlir).
func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  return %arg0 : tensor<4xf32>
}
sdacc.program {
}

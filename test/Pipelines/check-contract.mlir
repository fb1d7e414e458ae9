// The contract check fails at the first op the next stage may not receive,
// whichever pipeline it ends.
// RUN: sd-opt %s --sd-check-contract=stage=compressed --split-input-file --verify-diagnostics
// RUN: not sd-opt %s --sd-check-contract=stage=bogus 2>&1 | FileCheck %s --check-prefix=STAGE
// RUN: not sd-opt %s --sd-compress 2>&1 | FileCheck %s --check-prefix=COMPRESS

// STAGE: error: sd-check-contract: stage must be compressed, accelerator or llvm, not 'bogus'
// The named pipeline ends in the same check.
// COMPRESS: error: 'tosa.abs' may not reach the next stage: the compress pipeline

func.func @tosa(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tosa.abs' may not reach the next stage: the compress pipeline hands on to sd-quantize, the CPU backend and the reference lowering, which take only builtin, func, arith, math, tensor, linalg, scf, cf, ml_program and sd ops}}
  %0 = tosa.abs %arg0 : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @cast(%arg0: tensor<4xf32>) -> tensor<4xi8> {
  // expected-error @+1 {{'builtin.unrealized_conversion_cast' may not reach the next stage}}
  %0 = builtin.unrealized_conversion_cast %arg0 : tensor<4xf32> to tensor<4xi8>
  return %0 : tensor<4xi8>
}

// The LLVM lowerings (sd-cpu-to-llvm, sd-reference-to-llvm,
// sd-tensor-to-llvm) hand mlir-translate only LLVM and OpenMP ops.
// RUN: sd-opt %s --sd-check-contract=stage=llvm --split-input-file --verify-diagnostics
// RUN: not sd-opt %S/Inputs/stray-program.mlir --sd-cpu-to-llvm 2>&1 | FileCheck %s --check-prefix=STRAY
// RUN: not sd-opt %S/Inputs/stray-program.mlir --sd-reference-to-llvm 2>&1 | FileCheck %s --check-prefix=STRAY
// RUN: not sd-opt %S/Inputs/stray-program.mlir --sd-tensor-to-llvm 2>&1 | FileCheck %s --check-prefix=STRAY

// STRAY: stray-program.mlir:6:1: error: 'sdacc.program' may not reach the next stage: the lowering hands on to mlir-translate --mlir-to-llvmir, which takes only LLVM and OpenMP dialect ops

// expected-error @+1 {{'func.func' may not reach the next stage: the lowering hands on to mlir-translate --mlir-to-llvmir, which takes only LLVM and OpenMP dialect ops}}
func.func @f() {
  return
}

// -----

llvm.func @g(%arg0: i64) -> i32 {
  // expected-error @+1 {{'builtin.unrealized_conversion_cast' may not reach the next stage}}
  %0 = builtin.unrealized_conversion_cast %arg0 : i64 to i32
  llvm.return %0 : i32
}

// -----

// What the lowerings leave passes.
llvm.func @h(%arg0: i32) -> i32 {
  llvm.return %arg0 : i32
}

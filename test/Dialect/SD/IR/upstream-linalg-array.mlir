// A known MLIR 22 bug, kept here so that it is noticed when it is fixed:
// linalg.transpose, linalg.broadcast and linalg.reduce parse their integer
// array (`permutation` / `dimensions`) with a helper that stores the null
// attribute a failed DenseI64ArrayAttr::parse returns, and sd-opt crashes
// (SIGSEGV in NamedAttrList::set) after printing the located error, instead
// of exiting with it. Found by sd-fuzz-ir, which skips these ops
// (fuzz/IRFuzzer.cpp); docs/Testing.md, "Upstream MLIR bugs". Once the
// Debian MLIR has the fix this test passes, lit reports XPASS, and the
// XFAIL line and the fuzzer's filter go.
// XFAIL: *
// RUN: not sd-opt %s --split-input-file 2>&1 | FileCheck %s

// CHECK: error: custom op 'linalg.transpose' expected integer value
func.func @transpose(%w: tensor<3x4xf32>, %e: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %t = linalg.transpose ins(%w : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, x]
  return %t : tensor<4x3xf32>
}

// -----

// CHECK: error: custom op 'linalg.broadcast' expected integer value
func.func @broadcast(%w: tensor<3x4xf32>, %e: tensor<3x4x2xf32>) -> tensor<3x4x2xf32> {
  %t = linalg.broadcast ins(%w : tensor<3x4xf32>) outs(%e : tensor<3x4x2xf32>) dimensions = [x]
  return %t : tensor<3x4x2xf32>
}

// -----

// CHECK: error: custom op 'linalg.reduce' expected integer value
func.func @reduce(%x: tensor<3x4xf32>, %o: tensor<3xf32>) -> tensor<3xf32> {
  %r = linalg.reduce ins(%x : tensor<3x4xf32>) outs(%o : tensor<3xf32>) dimensions = [1, x]
    (%a: f32, %b: f32) {
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    }
  return %r : tensor<3xf32>
}

// A known MLIR 22 bug, kept here so that it is noticed when it is fixed: a
// dense array of `index` elements, valid-looking for any attribute, makes
// Parser::parseDenseArrayAttr ask the index type for its bit width, and
// every tool crashes (SIGSEGV in FloatType::getWidth) instead of reporting
// that `index` is not an allowed element type. Found by sd-fuzz-ir (as the
// `kernel` of an sd.quantized_max_pool2d), which skips such inputs
// (fuzz/IRFuzzer.cpp); docs/Testing.md, "Upstream MLIR bugs". Once the
// Debian MLIR has the fix this test passes, lit reports XPASS, and the
// XFAIL line and the fuzzer's filter go.
// XFAIL: *
// RUN: not sd-opt %s 2>&1 | FileCheck %s

// CHECK: upstream-dense-array-index.mlir:14:{{[0-9]+}}: error:
func.func private @f() attributes {a = array<index: 1>}

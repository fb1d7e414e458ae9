//===- PlanFuzzer.cpp - libFuzzer target: plan options of the passes ------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as the option text of sd-permdiag and sd-decompose (pass
// options and the per-layer plan entries, `layer-options=NAME:key=value`),
// run on a two-layer model: the options parsers and the passes must reject
// bad settings with an error, never crash. Inputs with brackets (which
// would leave the option text and name other passes) or an `iterations`
// setting (a legitimately slow run, not a fault) are skipped.
//
//===----------------------------------------------------------------------===//

#include "SD/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static const char *kModel = R"mlir(
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, 0.0, 1.5, -0.75, 0.125],
                              [1.0, 0.5, -0.5, 0.25, 0.75, -1.25, 0.5, 1.0],
                              [-0.25, 0.5, 1.0, -2.0, 0.5, 0.25, 1.0, -0.5],
                              [0.75, -0.5, 0.5, 1.0, -1.0, 0.5, 0.25, 2.0],
                              [0.5, 0.25, -1.0, 0.5, 1.5, -0.5, 0.75, 0.25],
                              [1.25, 1.0, 0.5, -0.25, 0.5, 1.0, -1.5, 0.5]]>
      : tensor<6x8xf32>
  %w2 = arith.constant dense<0.5> : tensor<4x6xf32>
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8x6xf32>
  %t1 = linalg.transpose ins(%w1 : tensor<6x8xf32>) outs(%e1 : tensor<8x6xf32>) permutation = [1, 0]
  %i1 = tensor.empty() : tensor<2x6xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%i1 : tensor<2x6xf32>) -> tensor<2x6xf32>
  %h = linalg.matmul ins(%x, %t1 : tensor<2x8xf32>, tensor<8x6xf32>) outs(%f1 : tensor<2x6xf32>) -> tensor<2x6xf32>
  %e2 = tensor.empty() : tensor<6x4xf32>
  %t2 = linalg.transpose ins(%w2 : tensor<4x6xf32>) outs(%e2 : tensor<6x4xf32>) permutation = [1, 0]
  %i2 = tensor.empty() : tensor<2x4xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%i2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%h, %t2 : tensor<2x6xf32>, tensor<6x4xf32>) outs(%f2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
)mlir";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    sd::registerAllDialects(*r);
    sd::registerAllPasses();
    return r;
  }();
  std::string options(reinterpret_cast<const char *>(data), size);
  if (options.find_first_of("{}()[]\"'\n") != std::string::npos ||
      options.find("iterations") != std::string::npos ||
      options.find("report") != std::string::npos)
    return 0; // see the file comment; reports would write files
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModel, &context);
  if (!module)
    return 0;
  PassManager pm(&context);
  std::string error;
  llvm::raw_string_ostream errors(error);
  std::string pipeline = "builtin.module(sd-permdiag{min-size=0 " + options +
                         "},sd-decompose{min-size=0 " + options + "})";
  if (failed(parsePassPipeline(pipeline, pm, errors)))
    return 0;
  (void)pm.run(*module);
  return 0;
}

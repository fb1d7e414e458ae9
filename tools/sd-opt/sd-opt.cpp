//===- sd-opt.cpp - The sd optimizer driver -------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the sd dialect, its passes and pipelines, and only the
// upstream dialects and passes those pipelines use. Its files are all or
// nothing: `-o` and every pass report (`report=FILE`) are staged next to
// their targets and renamed only when the whole run succeeded, so a failure
// anywhere leaves no new file and an existing target keeps its contents.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/StagedOutputs.h"
#include "SD/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::sd::registerAllDialects(registry);
  mlir::sd::registerAllPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "SmartDeal-MLIR optimizer driver\n", registry);
  return mlir::sd::runWithStagedOutputs(
      "sd-opt", output, [&](llvm::StringRef staged) {
        return mlir::MlirOptMain(argc, argv, input, staged, registry);
      });
}

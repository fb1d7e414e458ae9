//===- sd-opt.cpp - The sd optimizer driver -------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the sd dialect, its passes and pipelines, and only the
// upstream dialects and passes those pipelines use.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/Passes.h"
#include "SD/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

/// `--sd-report=FILE`: where sd-decompose writes its report unless its own
/// `report` option says otherwise.
static llvm::cl::opt<std::string>
    reportPath("sd-report",
               llvm::cl::desc("Write the sd-decompose report to this file"),
               llvm::cl::value_desc("file"),
               llvm::cl::cb<void, std::string>([](const std::string &path) {
                 mlir::sd::setDefaultDecomposeReport(path);
               }));

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::sd::registerAllDialects(registry);
  mlir::sd::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "SmartDeal-MLIR optimizer driver\n", registry));
}

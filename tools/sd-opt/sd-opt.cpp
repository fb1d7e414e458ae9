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

#include "SD/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::sd::registerAllDialects(registry);
  mlir::sd::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "SmartDeal-MLIR optimizer driver\n", registry));
}

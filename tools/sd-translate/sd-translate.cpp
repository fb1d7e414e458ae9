//===- sd-translate.cpp - sd programs to and from other formats -----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// mlir-translate with the sd translations: `--sd-to-sdacc` writes an
// accelerator program file (binary), `--sd-to-sdacc-text` its text form;
// `--import-sdacc` reads a program file into the sdacc dialect and
// `--export-sdacc` / `--export-sdacc-text` write it back.
//
//===----------------------------------------------------------------------===//

#include "SD/Target/SDAccExport/SDAccExport.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::sd::registerSDAccExportTranslations();
  mlir::sd::registerSDAccIRTranslations();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "SmartDeal-MLIR translation tool"));
}

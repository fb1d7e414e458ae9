//===- SDAccExport.h - sd programs to accelerator program file --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TARGET_SDACCEXPORT_SDACCEXPORT_H
#define SD_TARGET_SDACCEXPORT_SDACCEXPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::sd {

/// Options of the export.
struct SDAccExportOptions {
  bool text = false;      ///< Readable text form instead of binary.
  std::string configPath; ///< Hardware configuration; empty: the default.
  std::string function = "main";
};

/// Translates `@main` of `module`, a chain of sd.quantized_conv2d and
/// sd.quantized_matmul ops on int8 tensors (with zero tensor.pad between
/// them), into an accelerator program through the plain C++ program builder,
/// and writes the program file to `os`. Layers are quantized by the same
/// routine as the CPU quantized mode, so both compute the same bits.
LogicalResult exportSDAccProgram(ModuleOp module, llvm::raw_ostream &os,
                                 const SDAccExportOptions &options = {});

/// Registers the `sd-to-sdacc` and `sd-to-sdacc-text` translations.
void registerSDAccExportTranslations();

/// Registers `import-sdacc` (program file -> sdacc dialect) and
/// `export-sdacc` / `export-sdacc-text` (sdacc dialect -> program file).
void registerSDAccIRTranslations();

} // namespace mlir::sd

#endif // SD_TARGET_SDACCEXPORT_SDACCEXPORT_H

//===- SDAccExport.h - sd programs to accelerator program file --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TARGET_SDACCEXPORT_SDACCEXPORT_H
#define SD_TARGET_SDACCEXPORT_SDACCEXPORT_H

#include "SD/Dialect/SDAcc/IR/SDAccOps.h"
#include "SD/Accel/ProgramBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
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

/// Translates `@main` of `module`, a network of sd.quantized_conv2d,
/// sd.quantized_matmul, sd.quantized_add, sd.quantized_max_pool2d and
/// sd.quantized_avg_pool2d ops on int8 tensors (with zero tensor.pad before
/// convolutions and tensor.collapse_shape before fully connected layers),
/// into ONE accelerator program through the plain C++ program builder,
/// and writes the program file to `os`. Layers are quantized by the same
/// routine as the CPU quantized mode, so both compute the same bits.
LogicalResult exportSDAccProgram(ModuleOp module, llvm::raw_ostream &os,
                                 const SDAccExportOptions &options = {});

/// Builds the accelerator program of `func` (the ops exportSDAccProgram
/// accepts) for `config`; the schedules of its layers go to `schedules`.
/// Diagnostics name the op that cannot be mapped.
LogicalResult
buildSDAccProgram(func::FuncOp func, const ::sd::sdacc::HardwareConfig &config,
                  ::sd::sdacc::Program &program,
                  std::vector<::sd::sdacc::LayerSchedule> *schedules = nullptr);

/// The hardware configuration in `path` (the built-in default when empty);
/// emits at `loc` and fails when it cannot be read.
FailureOr<::sd::sdacc::HardwareConfig> loadSDAccConfig(llvm::StringRef path,
                                                       Location loc);

/// The value of sd-translate's `--sdacc-config` option (registered by both
/// registration functions below).
std::string sdaccConfigOption();

/// Registers the `sd-to-sdacc` and `sd-to-sdacc-text` translations.
void registerSDAccExportTranslations();

/// Registers `import-sdacc` (program file -> sdacc dialect) and
/// `export-sdacc` / `export-sdacc-text` (sdacc dialect -> program file).
void registerSDAccIRTranslations();

} // namespace mlir::sd

#endif // SD_TARGET_SDACCEXPORT_SDACCEXPORT_H

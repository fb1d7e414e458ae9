//===- AccelLayer.h - Quantized sd layers as builder layers ----*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// What the program builder needs of an sd.quantized_conv2d or
// sd.quantized_matmul, written once for the exporter (which builds programs)
// and --sd-schedule (which decides and records their tiling on IR).
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_ACCELLAYER_H
#define SD_DIALECT_SD_TRANSFORMS_ACCELLAYER_H

#include "SD/Accel/ProgramBuilder.h"

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

namespace mlir::sd {

/// The name of the tiling attribute --sd-schedule records on a quantized
/// convolution or fully connected layer and the exporter obeys.
inline constexpr llvm::StringLiteral kTilingAttrName = "sd.tiling";

/// The name of the unit attribute --sd-schedule puts on a layer whose
/// output stays on chip as the next layer's input (a cascade).
inline constexpr llvm::StringLiteral kCascadeAttrName = "sd.cascade";

/// Fills `spec` with the kind, window, weights (SmartExchange or PermDNN),
/// bias, requantization, recorded tiling and cascade of `op`, an
/// sd.quantized_conv2d or sd.quantized_matmul; names, inputs and the zero
/// padding the exporter folds are the caller's. Emits an error on `op`
/// when the accelerator has no form for it.
LogicalResult accelLayerSpec(Operation *op, ::sd::sdacc::LayerSpec &spec);

/// The tiling recorded on `op` (unset when there is none); an error on
/// `op` when the attribute is malformed.
LogicalResult readTiling(Operation *op, ::sd::sdacc::TileChoice &choice);

/// The source of `v` and its zero padding [top, left, bottom, right] when
/// `v` is a static zero tensor.pad of H and W of a rank-4 tensor (the pad
/// the exporter folds into the next layer); nullopt otherwise.
std::optional<std::pair<Value, SmallVector<int64_t, 4>>>
foldableZeroPad(Value v);

/// Records `choice` on `op`.
void writeTiling(Operation *op, const ::sd::sdacc::TileChoice &choice);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_ACCELLAYER_H

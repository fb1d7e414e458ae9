//===- IntWeights.h - Weights stored as packed integers times scales ------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TRANSFORMS_INTWEIGHTS_H
#define SD_TRANSFORMS_INTWEIGHTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::sd {

/// The f32 tensor `values` (of `type`) as packed k-bit integers times one
/// f32 scale per index of the first of `channelDims` along which they lie on
/// an integer grid (k <= 8; to 2^-18 of each channel's largest magnitude, or
/// exactly with `exact`), decoded by linalg.generic ops built at `b`; or a
/// null Value when no such grid exists or it would not halve the bytes.
Value materializeOnIntegerGrid(OpBuilder &b, Location loc,
                               RankedTensorType type, ArrayRef<float> values,
                               ArrayRef<int64_t> channelDims, bool exact,
                               StringRef name);

} // namespace mlir::sd

#endif // SD_TRANSFORMS_INTWEIGHTS_H

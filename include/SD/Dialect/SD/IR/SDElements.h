//===- SDElements.h - Read constant tensors, inline or resourc --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Weights arrive as `dense<...>` or as `dense_resource<...>` blobs (the form
// torch-mlir's FX importer emits). These helpers give one way to read both,
// and to build resource-backed attributes for large tensors we create.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDELEMENTS_H
#define SD_DIALECT_SD_IR_SDELEMENTS_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::sd {

/// False when the values are absent: an elided or missing resource blob.
bool hasData(ElementsAttr attr);

/// Why a constant's values cannot be read, or empty when they can.
std::string unreadableReason(ElementsAttr attr);

/// Emits an error at the first operation under `root` holding a constant
/// whose data is absent (an elided or missing resource blob): code
/// generation needs the bytes of every constant, and
/// the IR verifier accepts such constants as opaque. `consumer` names who
/// needs them ("the CPU code").
LogicalResult verifyConstantData(Operation *root, StringRef consumer);

/// The integer values of `attr` (sign-extended), row-major. Fails for
/// non-integer, elided or missing resource data.
FailureOr<SmallVector<int64_t>> readIntegers(ElementsAttr attr);

/// The floating-point values of `attr`, row-major, converted to float.
FailureOr<SmallVector<float>> readFloats(ElementsAttr attr);

/// A constant of `type` holding `values`: a `dense_resource` blob named after
/// `nameHint` when it has at least `resourceThreshold` elements, else inline.
ElementsAttr makeIntegerConstant(RankedTensorType type, ArrayRef<int8_t> values,
                                 StringRef nameHint,
                                 int64_t resourceThreshold = 64);
ElementsAttr makeFloatConstant(RankedTensorType type, ArrayRef<float> values,
                               StringRef nameHint,
                               int64_t resourceThreshold = 64);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_IR_SDELEMENTS_H

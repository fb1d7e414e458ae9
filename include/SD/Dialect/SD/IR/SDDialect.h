//===- SDDialect.h - The sd dialect -----------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDDIALECT_H
#define SD_DIALECT_SD_IR_SDDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "SD/Dialect/SD/IR/SDDialect.h.inc"

#endif // SD_DIALECT_SD_IR_SDDIALECT_H

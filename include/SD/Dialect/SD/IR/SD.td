//===- SD.td - The sd dialect, all definitions -------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SD_TD
#define SD_DIALECT_SD_IR_SD_TD

// Types and attributes come before the ops that use them.
include "SD/Dialect/SD/IR/SDDialect.td"
include "SD/Dialect/SD/IR/SDAttributes.td"
include "SD/Dialect/SD/IR/SDTypes.td"
include "SD/Dialect/SD/IR/SDOps.td"

#endif // SD_DIALECT_SD_IR_SD_TD

//===- SDAccOps.h - The sdacc dialect ---------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SDACC_IR_SDACCOPS_H
#define SD_DIALECT_SDACC_IR_SDACCOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"

#include "SD/Dialect/SDAcc/IR/SDAccDialect.h.inc"

namespace mlir::sdacc {
/// Checks an instruction op's fields with the ISA's verifier against the
/// default hardware configuration.
LogicalResult verifyInstructionOp(Operation *op);
} // namespace mlir::sdacc

#define GET_OP_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAcc.h.inc"

#endif // SD_DIALECT_SDACC_IR_SDACCOPS_H

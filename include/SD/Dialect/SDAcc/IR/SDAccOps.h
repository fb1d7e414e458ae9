//===- SDAccOps.h - The sdacc dialect ---------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SDACC_IR_SDACCOPS_H
#define SD_DIALECT_SDACC_IR_SDACCOPS_H

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Program.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"

#include "SD/Dialect/SDAcc/IR/SDAccDialect.h.inc"
#include "SD/Dialect/SDAcc/IR/SDAccEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAccAttributes.h.inc"

#define GET_OP_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAcc.h.inc"

namespace mlir::sdacc {

/// The hardware configuration as a `config` attribute (the JSON file's
/// schema as nested dictionaries); null for the built-in default, which an
/// absent attribute denotes.
DictionaryAttr configAttr(MLIRContext *ctx,
                          const ::sd::sdacc::HardwareConfig &config);

/// The configuration `program` is built for. Emits on `program` and fails
/// when its `config` attribute is not a valid configuration.
LogicalResult readConfig(ProgramOp program,
                         ::sd::sdacc::HardwareConfig &config);

/// Creates an `sdacc.program` holding `program`, built for `config`, at the
/// builder's insertion point: tensors, layer table, data segments and
/// instructions as ops, in file order. Fails (emitting at `loc`) when the
/// program cannot be expressed: the fingerprint is not the configuration's,
/// a tensor name repeats, or a layer names a tensor or kind that does not
/// exist.
FailureOr<ProgramOp> buildProgramOp(OpBuilder &builder, Location loc,
                                    const ::sd::sdacc::Program &program,
                                    const ::sd::sdacc::HardwareConfig &config);

/// The program an `sdacc.program` holds (the inverse of buildProgramOp; the
/// fingerprint is its configuration's). The op must have been verified.
::sd::sdacc::Program readProgram(ProgramOp program,
                                 const ::sd::sdacc::HardwareConfig &config);

} // namespace mlir::sdacc

#endif // SD_DIALECT_SDACC_IR_SDACCOPS_H

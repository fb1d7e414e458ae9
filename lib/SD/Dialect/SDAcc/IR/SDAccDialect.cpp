//===- SDAccDialect.cpp - The sdacc dialect
//--------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SDAcc/IR/SDAccOps.h"
#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ISA.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::sdacc;
namespace isa = ::sd::sdacc;

#include "SD/Dialect/SDAcc/IR/SDAccDialect.cpp.inc"

#define GET_OP_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAcc.cpp.inc"

void SDAccDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "SD/Dialect/SDAcc/IR/SDAcc.cpp.inc"
      >();
}

LogicalResult mlir::sdacc::verifyInstructionOp(Operation *op) {
  std::string mnemonic = op->getName().stripDialect().str();
  // Every op of the dialect but sdacc.program is generated from the table.
  const isa::InstrDesc *desc = isa::findInstruction(mnemonic);
  isa::Instruction inst;
  inst.opcode = desc->opcode;
  // ODS has already checked that every field is present.
  for (auto [i, field] : llvm::enumerate(desc->fields))
    inst.fields[i] =
        op->getAttrOfType<IntegerAttr>(field.name).getValue().getSExtValue();
  std::string problem =
      isa::verifyInstruction(inst, isa::HardwareConfig::defaults());
  if (!problem.empty())
    return op->emitOpError() << problem;
  return success();
}

//===- EmitCInterface.cpp - Plain C entry points for public functions -----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDEMITCINTERFACEPASS
#include "SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;

namespace {
struct SDEmitCInterfacePass
    : mlir::sd::impl::SDEmitCInterfacePassBase<SDEmitCInterfacePass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) {
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      UnitAttr::get(func.getContext()));
    });
  }
};
} // namespace

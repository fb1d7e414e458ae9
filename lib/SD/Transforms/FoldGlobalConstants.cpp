//===- FoldGlobalConstants.cpp - Immutable ml_program globals as constants ===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDFOLDGLOBALCONSTANTSPASS
#include "SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;

namespace {
struct SDFoldGlobalConstantsPass
    : mlir::sd::impl::SDFoldGlobalConstantsPassBase<
          SDFoldGlobalConstantsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SmallVector<Operation *> loads;
    module.walk([&](Operation *op) {
      if (isa<ml_program::GlobalLoadConstOp, ml_program::GlobalLoadOp>(op))
        loads.push_back(op);
    });
    llvm::SetVector<ml_program::GlobalOp> read;
    for (Operation *load : loads) {
      auto global = symbols.lookupNearestSymbolFrom<ml_program::GlobalOp>(
          load, load->getAttrOfType<SymbolRefAttr>("global"));
      // A mutable global's value may change; an immutable one always has
      // a value (its verifier), typed as the load's result.
      if (!global || global.getIsMutable())
        continue;
      auto value = dyn_cast<TypedAttr>(*global.getValue());
      if (!value || value.getType() != load->getResult(0).getType())
        continue;
      OpBuilder b(load);
      Value constant =
          arith::ConstantOp::create(b, load->getLoc(), value).getResult();
      load->getResult(0).replaceAllUsesWith(constant);
      load->erase();
      read.insert(global);
    }
    // Globals whose every load became a constant hold a second copy of the
    // values unless erased.
    for (ml_program::GlobalOp global : read)
      if (global.isPrivate() && SymbolTable::symbolKnownUseEmpty(global, module))
        global->erase();
  }
};
} // namespace

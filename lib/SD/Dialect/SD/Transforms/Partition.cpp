//===- Partition.cpp - Accelerator segments of quantized functions --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// --sd-partition: every maximal run of accelerator ops becomes a function of
// its own (one accelerator program each), called from the host code that
// stays behind.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDPARTITIONPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

static bool isLayer(Operation *op) {
  return isa<QuantizedConv2DOp, QuantizedMatmulOp, QuantizedAddOp,
             QuantizedMaxPool2DOp, QuantizedAvgPool2DOp,
             QuantizedDepthwiseConv2DOp>(op);
}

/// Constants do not break a run; segments clone the ones they use.
static bool isConstant(Operation *op) {
  return isa<arith::ConstantOp, SEConstantOp, PermDiagConstantOp>(op);
}

/// An int8 pad or reshape the accelerator folds into the layer after it.
/// The program reads a reshaped tensor as [N, everything else], so only
/// reshapes of that form qualify; others (rows from leading dimensions)
/// stay on the host.
static bool isLayerInput(Operation *op) {
  if (!isa<tensor::PadOp, tensor::CollapseShapeOp>(op) ||
      !op->getResult(0).hasOneUse())
    return false;
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    SmallVector<ReassociationIndices> groups =
        collapse.getReassociationIndices();
    if (groups.size() != 2 || groups[0] != ReassociationIndices{0})
      return false;
  }
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  return type.getElementType().isSignlessInteger(8) &&
         isLayer(*op->getUsers().begin());
}

namespace {

struct SDPartitionPass
    : mlir::sd::impl::SDPartitionPassBase<SDPartitionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && !func->hasAttr("sd.accelerator"))
        funcs.push_back(func);
    for (func::FuncOp func : funcs) {
      // Runs in block order: a run ends at the first op that is neither a
      // layer, an int8 input of the next layer, nor a constant.
      SmallVector<SmallVector<Operation *>> runs(1);
      for (Operation &op : func.getBody().front()) {
        if (isLayer(&op) || isLayerInput(&op))
          runs.back().push_back(&op);
        else if (!isConstant(&op) && !runs.back().empty())
          runs.emplace_back();
      }
      int64_t index = 0;
      for (ArrayRef<Operation *> run : runs) {
        // A trailing pad or reshape would be a segment output the program
        // cannot return; it stays on the host.
        while (!run.empty() && !isLayer(run.back()))
          run = run.drop_back();
        if (!run.empty())
          outline(func, run, index++, symbols);
      }
    }
  }

  void outline(func::FuncOp func, ArrayRef<Operation *> run, int64_t index,
               SymbolTable &symbols) {
    llvm::SmallPtrSet<Operation *, 16> inRun(run.begin(), run.end());
    llvm::SetVector<Value> inputs, outputs;
    llvm::SetVector<Operation *> constants;
    Region *top = &func.getBody();
    for (Operation *op : run) {
      // Operands of nested ops too (a pad's yield of its padding value).
      op->walk([&](Operation *nested) {
        for (Value v : nested->getOperands()) {
          if (v.getParentRegion() != top)
            continue; // defined inside the op
          Operation *def = v.getDefiningOp();
          if (def && inRun.contains(def))
            continue;
          if (def && isConstant(def))
            constants.insert(def);
          else
            inputs.insert(v);
        }
      });
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !inRun.contains(u); }))
          outputs.insert(r);
    }
    MLIRContext *ctx = func.getContext();
    OpBuilder b(ctx);
    b.setInsertionPoint(func);
    auto type = FunctionType::get(ctx, TypeRange(inputs.getArrayRef()),
                                  TypeRange(outputs.getArrayRef()));
    auto segment = func::FuncOp::create(
        b, run.front()->getLoc(),
        (func.getSymName() + "_acc" + Twine(index)).str(), type);
    segment.setPrivate();
    segment->setAttr("sd.accelerator", UnitAttr::get(ctx));
    symbols.insert(segment);
    Block *body = segment.addEntryBlock();
    IRMapping map;
    for (auto [v, arg] : llvm::zip(inputs, body->getArguments()))
      map.map(v, arg);
    b.setInsertionPointToStart(body);
    for (Operation *c : constants)
      b.clone(*c, map);
    for (Operation *op : run)
      b.clone(*op, map);
    SmallVector<Value> results;
    for (Value v : outputs)
      results.push_back(map.lookup(v));
    func::ReturnOp::create(b, segment.getLoc(), results);

    b.setInsertionPoint(run.back());
    auto call = func::CallOp::create(b, run.back()->getLoc(), segment,
                                     inputs.getArrayRef());
    for (auto [i, v] : llvm::enumerate(outputs.getArrayRef())) {
      Value out = v;
      out.replaceAllUsesWith(call.getResult(i));
    }
    for (Operation *op : llvm::reverse(run))
      op->erase();
    for (Operation *c : constants)
      if (c->use_empty())
        c->erase();
    ++numSegments;
  }
};

} // namespace

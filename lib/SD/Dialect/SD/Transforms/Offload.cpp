//===- Offload.cpp - Accelerator segments as calls into the runtime -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// --sd-offload: the body of every accelerator segment (--sd-partition)
// becomes calls into the accelerator runtime (lib/Runtime), which runs the
// segment's program on the simulator. The host code that calls the segment
// is left alone, so the CPU backend compiles the hybrid model like the CPU
// quantized mode, and the two differ only in who computes the segments.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDOFFLOADPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;

namespace {

/// The runtime's entry points (lib/Runtime/AccelRuntime.cpp).
constexpr const char *kSetInput = "sdaccSetInput";
constexpr const char *kRun = "sdaccRun";
constexpr const char *kGetOutput = "sdaccGetOutput";

struct SDOffloadPass : mlir::sd::impl::SDOffloadPassBase<SDOffloadPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> segments;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("sd.accelerator") && !func.isExternal() &&
          !llvm::is_contained(host, func.getSymName()))
        segments.push_back(func);
    SymbolTable symbols(module);
    for (const std::string &name : host) {
      auto func = symbols.lookup<func::FuncOp>(name);
      if (!func || !func->hasAttr("sd.accelerator")) {
        module.emitError("--sd-offload host=") << name
                                              << ": no accelerator segment "
                                                 "of that name";
        return signalPassFailure();
      }
    }
    if (segments.empty())
      return;
    MLIRContext *ctx = module.getContext();
    Type i8 = IntegerType::get(ctx, 8), i64 = IntegerType::get(ctx, 64);
    auto bytes = UnrankedMemRefType::get(i8, nullptr);
    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    auto declare = [&](const char *name, TypeRange args) -> LogicalResult {
      if (Operation *existing = symbols.lookup(name)) {
        auto func = dyn_cast<func::FuncOp>(existing);
        if (func && func.isExternal() &&
            func.getFunctionType() == b.getFunctionType(args, {}))
          return success();
        existing->emitError("'") << name
                                 << "' is the accelerator runtime's; the "
                                    "module defines it differently";
        return failure();
      }
      auto func = func::FuncOp::create(b, module.getLoc(), name,
                                       b.getFunctionType(args, {}));
      func.setPrivate();
      symbols.insert(func);
      return success();
    };
    if (failed(declare(kSetInput, {i64, bytes})) ||
        failed(declare(kRun, {bytes})) ||
        failed(declare(kGetOutput, {i64, bytes})))
      return signalPassFailure();

    for (func::FuncOp segment : segments) {
      // The name travels as a constant global of its bytes: the runtime
      // finds the program `<name>.sdacc` by it.
      StringRef name = segment.getSymName();
      auto nameType = MemRefType::get({int64_t(name.size())}, i8);
      SmallVector<int8_t> chars(name.begin(), name.end());
      auto nameData = DenseElementsAttr::get(
          RankedTensorType::get({int64_t(name.size())}, i8),
          ArrayRef<int8_t>(chars));
      b.setInsertionPoint(segment);
      auto global = memref::GlobalOp::create(
          b, segment.getLoc(), ("__sdacc_name_" + name).str(),
          b.getStringAttr("private"), nameType, nameData, /*constant=*/true,
          /*alignment=*/nullptr);
      symbols.insert(global);

      Block &body = segment.getBody().front();
      auto oldReturn = cast<func::ReturnOp>(body.getTerminator());
      SmallVector<Type> resultTypes(oldReturn.getOperandTypes());
      // The old body goes; the arguments stay.
      oldReturn.erase();
      while (!body.empty())
        body.back().erase();
      b.setInsertionPointToEnd(&body);
      Location loc = segment.getLoc();
      auto index = [&](int64_t k) {
        return arith::ConstantIntOp::create(b, loc, i64, k).getResult();
      };
      for (BlockArgument arg : body.getArguments()) {
        auto type = cast<RankedTensorType>(arg.getType());
        auto buffer = bufferization::ToBufferOp::create(
            b, loc, MemRefType::get(type.getShape(), type.getElementType()),
            arg, /*read_only=*/true);
        auto any = memref::CastOp::create(b, loc, bytes, buffer);
        func::CallOp::create(b, loc, kSetInput, TypeRange{},
                             ValueRange{index(arg.getArgNumber()), any});
      }
      auto nameRef = memref::GetGlobalOp::create(b, loc, nameType,
                                                 global.getSymName());
      func::CallOp::create(
          b, loc, kRun, TypeRange{},
          ValueRange{memref::CastOp::create(b, loc, bytes, nameRef)});
      SmallVector<Value> results;
      for (auto [k, t] : llvm::enumerate(resultTypes)) {
        auto type = cast<RankedTensorType>(t);
        auto buffer = memref::AllocOp::create(
            b, loc, MemRefType::get(type.getShape(), type.getElementType()));
        auto any = memref::CastOp::create(b, loc, bytes, buffer);
        func::CallOp::create(b, loc, kGetOutput, TypeRange{},
                             ValueRange{index(int64_t(k)), any});
        results.push_back(bufferization::ToTensorOp::create(
            b, loc, type, buffer, /*restrict=*/true, /*writable=*/true));
      }
      func::ReturnOp::create(b, loc, results);
      ++numSegments;
    }
  }
};

} // namespace

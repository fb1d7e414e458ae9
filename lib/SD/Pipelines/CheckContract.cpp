//===- CheckContract.cpp - What a named pipeline hands on -----------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// --sd-check-contract: the last pass of each named pipeline. It fails at the
// first op the next stage may not receive. The accelerator contract is the
// exporter itself (each segment must build into a program), so the list of
// what the accelerator runs is written once, in SDAccExport.cpp.
//
//===----------------------------------------------------------------------===//

#include "SD/Pipelines/Passes.h"
#include "SD/Target/SDAccExport/SDAccExport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDCHECKCONTRACTPASS
#include "SD/Pipelines/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
namespace hw = ::sd::sdacc;

namespace {
struct SDCheckContractPass
    : mlir::sd::impl::SDCheckContractPassBase<SDCheckContractPass> {
  using Base::Base;

  void runOnOperation() override {
    LogicalResult result = failure();
    if (stage == "compressed")
      result = checkDialects(
          {"func", "arith", "math", "tensor", "linalg", "scf", "cf",
           "ml_program", "sd"},
          "the compress pipeline hands on to sd-quantize, the CPU backend and "
          "the reference lowering, which take only builtin, func, arith, "
          "math, tensor, linalg, scf, cf, ml_program and sd ops");
    else if (stage == "llvm")
      result = checkDialects(
          {"llvm", "omp"},
          "the lowering hands on to mlir-translate --mlir-to-llvmir, which "
          "takes only LLVM and OpenMP dialect ops");
    else if (stage == "accelerator")
      result = checkAccelerator();
    else
      getOperation().emitError("sd-check-contract: stage must be compressed, "
                               "accelerator or llvm, not '")
          << stage << "'";
    if (failed(result))
      signalPassFailure();
  }

  LogicalResult checkDialects(std::initializer_list<llvm::StringRef> allowed,
                              llvm::StringRef why) {
    llvm::StringSet<> dialects(allowed);
    WalkResult walk =
        getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
          // Modules, not unrealized casts: builtin is no dialect of its own.
          if (isa<ModuleOp>(op) ||
              dialects.contains(op->getName().getDialectNamespace()))
            return WalkResult::advance();
          op->emitError("'")
              << op->getName() << "' may not reach the next stage: " << why;
          return WalkResult::interrupt();
        });
    return failure(walk.wasInterrupted());
  }

  LogicalResult checkAccelerator() {
    FailureOr<hw::HardwareConfig> config =
        mlir::sd::loadSDAccConfig(configPath, getOperation().getLoc());
    if (failed(config))
      return failure();
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr("sd.accelerator"))
        continue;
      // The exporter's error names the op it cannot map.
      hw::Program program;
      if (failed(mlir::sd::buildSDAccProgram(func, *config, program)))
        return failure();
    }
    return success();
  }
};
} // namespace

//===- PermDiag.cpp - PermDNN projection of fully connected weights -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The IR side of lib/Compression/PermDiag: WeightMatching finds the layers,
// the library projects their weights, and the layer is rewritten into
// sd.permdiag_constant + sd.permdiag_matmul.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/PermDiag.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/LayerReport.h"
#include "SD/Dialect/SD/Transforms/Passes.h"
#include "SD/Dialect/SD/Transforms/WeightMatching.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"

#include <chrono>

namespace mlir::sd {
#define GEN_PASS_DEF_SDPERMDIAGPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;
namespace comp = ::sd::compression;

namespace {
struct SDPermDiagPass : mlir::sd::impl::SDPermDiagPassBase<SDPermDiagPass> {
  using Base::Base;
  void runOnOperation() override;
};
} // namespace

void SDPermDiagPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (blockSize < 1) {
    emitError(module.getLoc()) << "block-size must be at least 1";
    return signalPassFailure();
  }
  SmallVector<Operation *> candidates = collectLayers(module);
  std::vector<LayerRecord> records;
  llvm::StringSet<> wanted;
  for (const std::string &l : layers)
    wanted.insert(l);
  llvm::StringSet<> seen;
  for (auto [index, op] : llvm::enumerate(candidates)) {
    WeightMatch match = matchLayerWeight(op);
    LayerRecord record;
    record.index = index;
    record.op = op->getName().getStringRef().str();
    record.name = layerName(op, match.resourceName, index);
    bool selected = wanted.empty() || wanted.contains(record.name) ||
                    wanted.contains(std::to_string(index));
    if (selected) {
      seen.insert(record.name);
      seen.insert(std::to_string(index));
    }
    if (match.use)
      record.shape.assign(match.use->shape.begin(), match.use->shape.end());
    std::string whyNot = match.whyNot;
    if (whyNot.empty() && match.use->kind != LayerKind::Linear)
      whyNot = "convolutions are not projected";
    if (whyNot.empty() && !selected)
      whyNot = "not listed in layers";
    if (whyNot.empty() && match.use->numWeights() < minSize)
      whyNot = "the weight has " + std::to_string(match.use->numWeights()) +
               " values, fewer than min-size = " + std::to_string(minSize);
    if (!whyNot.empty()) {
      if (selected && !wanted.empty())
        op->emitRemark() << "layer '" << record.name
                         << "' left dense: " << whyNot;
      record.form = "dense";
      record.reason = whyNot;
      records.push_back(std::move(record));
      continue;
    }

    WeightUse &use = *match.use;
    auto start = std::chrono::steady_clock::now();
    FailureOr<std::vector<float>> values = use.canonicalValues();
    if (failed(values)) {
      op->emitError("cannot read the weight of layer '") << record.name << "'";
      return signalPassFailure();
    }
    int64_t m = use.shape[0], n = use.shape[1];
    comp::PermDiagWeight pd =
        comp::projectPermDiag(values->data(), m, n, blockSize);
    if (!pd.error.empty()) {
      op->emitError("cannot project layer '")
          << record.name << "': " << pd.error;
      return signalPassFailure();
    }

    OpBuilder b(op);
    MLIRContext *ctx = op->getContext();
    auto type =
        PermDiagWeightType::get(ctx, use.shape, b.getF32Type(), blockSize);
    auto offsetsType =
        RankedTensorType::get({pd.rowBlocks, pd.colBlocks}, b.getI32Type());
    auto valuesType = RankedTensorType::get(
        {pd.rowBlocks, pd.colBlocks, blockSize}, b.getF32Type());
    std::string key;
    for (char c : record.name)
      key.push_back(llvm::isAlnum(c) ? c : '_');
    Value weight = PermDiagConstantOp::create(
        b, op->getLoc(), type,
        DenseElementsAttr::get(offsetsType, ArrayRef<int32_t>(pd.offsets)),
        makeFloatConstant(valuesType, pd.values, key + "_pd"));
    Value result = PermDiagMatmulOp::create(
        b, op->getLoc(), op->getResult(0).getType(), use.input, weight,
        /*bias=*/Value(), use.init);
    replaceLayer(use, result);

    record.form = "permdiag";
    record.numBlocks = pd.rowBlocks * pd.colBlocks;
    record.blockRows = blockSize;
    record.nnz = int64_t(pd.values.size());
    record.numCodes = pd.rowBlocks * pd.colBlocks * blockSize * blockSize;
    record.denseBits = 32 * m * n;
    record.bits = pd.storedBits();
    record.valueBits = int64_t(pd.values.size()) * 32;
    record.indexBits = record.bits - record.valueBits;
    record.compressionRatio = pd.compressionRatio();
    record.relativeError = pd.relativeError;
    record.timeMs = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    record.settings = {{"p", std::to_string(blockSize)},
                       {"kept_energy", std::to_string(pd.keptEnergy)}};
    ++numProjected;
    records.push_back(std::move(record));
  }
  for (const std::string &l : layers)
    if (!seen.contains(l))
      emitWarning(module.getLoc())
          << "layers entry '" << l << "' matches no candidate layer";
  if (!report.empty()) {
    std::string error;
    if (failed(writeLayerReport(report, records, error))) {
      emitError(module.getLoc()) << error;
      return signalPassFailure();
    }
  }
}

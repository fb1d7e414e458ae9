//===- PermDiag.cpp - PermDNN projection of fully connected weights -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The IR side of lib/Compression/PermDiag: WeightMatching finds the layers,
// the library projects their weights, and the layer is rewritten into
// sd.permdiag_constant + sd.permdiag_matmul (1x1 convolutions: the same
// matmul over pixels, between layout changes).
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/PermDiag.h"
#include "SD/Compression/Plan.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/LayerReport.h"
#include "SD/Dialect/SD/Transforms/Passes.h"
#include "SD/Dialect/SD/Transforms/WeightMatching.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <chrono>

namespace mlir::sd {
#define GEN_PASS_DEF_SDPERMDIAGPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;
namespace comp = ::sd::compression;

static bool isForm(StringRef v) {
  return v == "permdiag" || v == "se" || v == "dense";
}

namespace {

struct SDPermDiagPass : mlir::sd::impl::SDPermDiagPassBase<SDPermDiagPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  Value buildConv1x1(OpBuilder &b, const WeightUse &use, Value weight);
};
} // namespace

/// y = init + conv1x1(x, W) as a permuted-diagonal matmul over pixels:
/// strided slice of x, channels last, [pixels, C] x W^T, and back.
Value SDPermDiagPass::buildConv1x1(OpBuilder &b, const WeightUse &use,
                                   Value weight) {
  Location loc = use.op->getLoc();
  auto xType = cast<RankedTensorType>(use.input.getType());
  auto initType = cast<RankedTensorType>(use.init.getType());
  Type f32 = xType.getElementType();
  bool nchw = use.layout == ConvLayout::nchw;
  int64_t n = initType.getDimSize(0);
  int64_t f = initType.getDimSize(nchw ? 1 : 3);
  int64_t ho = initType.getDimSize(nchw ? 2 : 1);
  int64_t wo = initType.getDimSize(nchw ? 3 : 2);
  int64_t c = xType.getDimSize(nchw ? 1 : 3);
  auto idx = [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); };

  // The pixels a 1x1 kernel reads: every stride-th one from the origin.
  Value x = use.input;
  int64_t sh = use.strides[0], sw = use.strides[1];
  SmallVector<int64_t> sliced = nchw ? SmallVector<int64_t>{n, c, ho, wo}
                                     : SmallVector<int64_t>{n, ho, wo, c};
  if (sliced != SmallVector<int64_t>(xType.getShape()) || sh != 1 || sw != 1) {
    SmallVector<OpFoldResult> sizes, strides;
    for (int64_t d : sliced)
      sizes.push_back(idx(d));
    strides = nchw
                  ? SmallVector<OpFoldResult>{idx(1), idx(1), idx(sh), idx(sw)}
                  : SmallVector<OpFoldResult>{idx(1), idx(sh), idx(sw), idx(1)};
    x = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(sliced, f32), x,
        SmallVector<OpFoldResult>(4, idx(0)), sizes, strides);
  }
  auto toLast = [&](Value v, int64_t ch) -> Value {
    if (!nchw)
      return v;
    Value empty =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{n, ho, wo, ch}, f32);
    return linalg::TransposeOp::create(b, loc, v, empty,
                                       ArrayRef<int64_t>{0, 2, 3, 1})
        .getResult()[0];
  };
  SmallVector<ReassociationIndices> pixels = {{0, 1, 2}, {3}};
  Value x2 = tensor::CollapseShapeOp::create(b, loc, toLast(x, c), pixels);
  Value init2 =
      tensor::CollapseShapeOp::create(b, loc, toLast(use.init, f), pixels);
  Value y2 = PermDiagMatmulOp::create(b, loc, init2.getType(), x2, weight,
                                      /*bias=*/Value(), init2);
  Value y4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({n, ho, wo, f}, f32), y2, pixels);
  if (!nchw)
    return y4;
  Value empty =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{n, f, ho, wo}, f32);
  return linalg::TransposeOp::create(b, loc, y4, empty,
                                     ArrayRef<int64_t>{0, 3, 1, 2})
      .getResult()[0];
}

void SDPermDiagPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (blockSize < 1) {
    emitError(module.getLoc()) << "block-size must be at least 1";
    return signalPassFailure();
  }
  if (minSize < 0) {
    emitError(module.getLoc())
        << "min-size must be >= 0, got " << int64_t(minSize);
    return signalPassFailure();
  }
  if (!isForm(form)) {
    emitError(module.getLoc())
        << "form must be permdiag, se or dense, not '" << form << "'";
    return signalPassFailure();
  }
  comp::Plan plan;
  std::string error;
  if (!planFile.empty() && !comp::readPlan(planFile, plan, error)) {
    emitError(module.getLoc()) << error;
    return signalPassFailure();
  }
  std::vector<bool> used(plan.layers.size(), false);
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
    // Without a plan, the pass options; with one, the layer's plan settings
    // (a layer the plan gives no form is se).
    comp::PlanSettings planned =
        plan.settingsFor(record.name, int64_t(index), used);
    int64_t p = planned.p.value_or(blockSize);
    std::string layerForm =
        planFile.empty() ? form.getValue() : planned.form.value_or("se");
    bool skip = planned.skip.value_or(false);
    // Remarks only for layers someone asked for by name.
    bool asked = (selected && !wanted.empty()) ||
                 (planned.form && layerForm == "permdiag");
    if (match.use)
      record.shape.assign(match.use->shape.begin(), match.use->shape.end());
    std::string whyNot = match.whyNot;
    if (whyNot.empty() && match.use->kind != LayerKind::Linear) {
      ArrayRef<int64_t> shape = match.use->shape;
      if (!convolutions)
        whyNot = "convolutions are not projected (see the convolutions "
                 "option)";
      else if (shape[2] != 1 || shape[3] != 1)
        whyNot = "only 1x1 convolutions are projected, this kernel is " +
                 std::to_string(shape[2]) + "x" + std::to_string(shape[3]);
      else if (!cast<ShapedType>(match.use->input.getType()).hasStaticShape() ||
               !cast<ShapedType>(match.use->init.getType()).hasStaticShape())
        // The rewrite reshapes pixels into matmul rows with static sizes.
        whyNot = "the convolution's input or output shape is not static";
    }
    if (whyNot.empty() && skip)
      whyNot = "skipped by the plan";
    if (whyNot.empty() && layerForm != "permdiag")
      whyNot = "its form is " + layerForm;
    if (whyNot.empty() && !selected)
      whyNot = "not listed in layers";
    if (whyNot.empty() && match.use->numWeights() < minSize)
      whyNot = "the weight has " + std::to_string(match.use->numWeights()) +
               " values, fewer than min-size = " + std::to_string(minSize);
    if (!whyNot.empty()) {
      if (asked)
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
    // A 1x1 kernel's canonical [F, C, 1, 1] values are the F x C matrix.
    int64_t m = use.shape[0], n = use.shape[1];
    comp::PermDiagWeight pd = comp::projectPermDiag(values->data(), m, n, p);
    if (!pd.error.empty()) {
      op->emitError("cannot project layer '")
          << record.name << "': " << pd.error;
      return signalPassFailure();
    }

    OpBuilder b(op);
    MLIRContext *ctx = op->getContext();
    auto type = PermDiagWeightType::get(ctx, {m, n}, b.getF32Type(), p);
    auto offsetsType =
        RankedTensorType::get({pd.rowBlocks, pd.colBlocks}, b.getI32Type());
    auto valuesType =
        RankedTensorType::get({pd.rowBlocks, pd.colBlocks, p}, b.getF32Type());
    std::string key;
    for (char c : record.name)
      key.push_back(llvm::isAlnum(c) ? c : '_');
    Value weight = PermDiagConstantOp::create(
        b, op->getLoc(), type,
        DenseElementsAttr::get(offsetsType, ArrayRef<int32_t>(pd.offsets)),
        makeFloatConstant(valuesType, pd.values, key + "_pd"));
    Value result = use.kind == LayerKind::Linear
                       ? PermDiagMatmulOp::create(
                             b, op->getLoc(), op->getResult(0).getType(),
                             use.input, weight, /*bias=*/Value(), use.init)
                             .getResult()
                       : buildConv1x1(b, use, weight);
    replaceLayer(use, result);

    record.form = "permdiag";
    record.numBlocks = pd.rowBlocks * pd.colBlocks;
    record.blockRows = p;
    record.nnz = int64_t(pd.values.size());
    record.numCodes = pd.rowBlocks * pd.colBlocks * p * p;
    record.denseBits = 32 * m * n;
    record.bits = pd.storedBits();
    record.valueBits = int64_t(pd.values.size()) * 32;
    record.indexBits = record.bits - record.valueBits;
    record.compressionRatio = pd.compressionRatio();
    record.relativeError = pd.relativeError;
    record.blockSize = p;
    record.keptEnergy = pd.keptEnergy;
    record.paddedShape = {pd.rowBlocks * p, pd.colBlocks * p};
    record.timeMs = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    record.settings = {{"p", std::to_string(p)},
                       {"kept_energy", std::to_string(pd.keptEnergy)}};
    ++numProjected;
    records.push_back(std::move(record));
  }
  for (const std::string &l : layers)
    if (!seen.contains(l))
      emitWarning(module.getLoc())
          << "layers entry '" << l << "' matches no candidate layer";
  for (auto [entry, wasUsed] : llvm::zip(plan.layers, used))
    if (!wasUsed)
      emitWarning(module.getLoc()) << "plan entry '" << entry.selector
                                   << "' matches no candidate layer";
  if (!report.empty()) {
    if (failed(writeLayerReport(report, records, error))) {
      emitError(module.getLoc()) << error;
      return signalPassFailure();
    }
  }
}

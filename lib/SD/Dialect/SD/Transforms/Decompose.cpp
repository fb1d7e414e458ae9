//===- Decompose.cpp - SmartExchange decomposition of layer weights -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// A thin adapter: WeightMatching finds the layers, the plain C++ library in
// lib/Compression decomposes their weights, and this pass rewrites the IR and
// records what happened.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Decompose.h"
#include "SD/Compression/Plan.h"
#include "SD/Compression/Storage.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/LayerReport.h"
#include "SD/Dialect/SD/Transforms/Passes.h"
#include "SD/Dialect/SD/Transforms/WeightMatching.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"

#include <chrono>

namespace mlir::sd {
#define GEN_PASS_DEF_SDDECOMPOSEPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;
namespace comp = ::sd::compression;

/// Resource keys must be identifiers; layer names may hold dots and slashes.
static std::string sanitize(StringRef name) {
  std::string out;
  for (char c : name)
    out.push_back(llvm::isAlnum(c) || c == '_' ? c : '_');
  if (out.empty() || llvm::isDigit(out[0]))
    out.insert(out.begin(), '_');
  return out;
}

namespace {

/// Settings for one layer: the pass options with its plan settings applied.
struct LayerSettings {
  comp::DecomposeOptions options;
  bool skip = false;
  /// A plan's `form`: only "se" layers are decomposed here; "permdiag"
  /// layers belong to sd-permdiag, "int" ones to the driver, "dense" ones
  /// stay as they are.
  std::string form = "se";
};

struct SDDecomposePass : mlir::sd::impl::SDDecomposePassBase<SDDecomposePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  LogicalResult decomposeLayer(WeightUse &use, const LayerSettings &settings,
                               LayerRecord &record);
};

} // namespace

LogicalResult SDDecomposePass::decomposeLayer(WeightUse &use,
                                              const LayerSettings &settings,
                                              LayerRecord &record) {
  Operation *op = use.op;
  const comp::DecomposeOptions &opts = settings.options;
  auto start = std::chrono::steady_clock::now();
  FailureOr<std::vector<float>> values = use.canonicalValues();
  if (failed(values))
    return op->emitError("cannot read the weight of layer '")
           << record.name << "'";
  std::vector<int64_t> shape(use.shape.begin(), use.shape.end());
  comp::DecomposedWeight dw =
      comp::decomposeWeight(values->data(), shape, opts);
  if (!dw.error.empty())
    return op->emitError("cannot decompose layer '")
           << record.name << "': " << dw.error;
  auto elapsed = std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count();

  // Build the sd ops in place of the linalg op.
  MLIRContext *ctx = op->getContext();
  OpBuilder b(op);
  Location loc = op->getLoc();
  auto weightType = SEWeightType::get(ctx, use.shape, b.getF32Type(),
                                      dw.layout.numBlocks, dw.layout.blockRows,
                                      opts.range.minExp, opts.range.maxExp);
  std::string key = sanitize(record.name);
  auto codesType =
      RankedTensorType::get(weightType.getCodesShape(), b.getIntegerType(8));
  auto basisType =
      RankedTensorType::get(weightType.getBasisShape(), b.getF32Type());
  Value weight = SEConstantOp::create(
      b, loc, weightType, makeIntegerConstant(codesType, dw.codes, key + "_ce"),
      makeFloatConstant(basisType, dw.basis, key + "_b"));
  Type resultType = op->getResult(0).getType();
  Value result;
  if (use.kind == LayerKind::Linear) {
    result = ShiftAddMatmulOp::create(b, loc, resultType, use.input, weight,
                                      /*bias=*/Value(), use.init);
  } else {
    result = ShiftAddConv2DOp::create(b, loc, resultType, use.input, weight,
                                      /*bias=*/Value(), use.init,
                                      ConvLayoutAttr::get(ctx, use.layout),
                                      b.getDenseI64ArrayAttr(use.strides),
                                      b.getDenseI64ArrayAttr(use.dilations));
  }
  replaceLayer(use, result);

  // Record what happened.
  comp::StorageReport storage =
      comp::computeStorage(dw.layout, dw.codes.data());
  record.form = "se";
  record.numBlocks = dw.layout.numBlocks;
  record.blockRows = dw.layout.blockRows;
  record.nnz = dw.stats.nnz;
  record.numCodes = dw.stats.numCodes;
  for (auto [i, count] : llvm::enumerate(dw.stats.exponentHistogram))
    if (count)
      record.exponentHistogram[opts.range.minExp + int(i)] = count;
  record.denseBits = storage.denseBits;
  record.bits = storage.totalBits;
  record.valueBits = storage.valueBits;
  record.indexBits = storage.indexBits;
  record.basisBits = storage.basisBits;
  record.compressionRatio = storage.compressionRatio;
  record.relativeError = dw.stats.relativeError;
  double iterations = 0;
  for (int32_t it : dw.stats.iterations)
    iterations += it;
  record.meanIterations =
      dw.stats.iterations.empty() ? 0 : iterations / dw.stats.iterations.size();
  record.timeMs = elapsed;
  record.settings = {
      {"threshold", std::to_string(opts.threshold)},
      {"iterations", std::to_string(opts.iterations)},
      {"exponents", "[" + std::to_string(opts.range.minExp) + ", " +
                        std::to_string(opts.range.maxExp) + "]"},
      {"block_rows", std::to_string(opts.maxBlockRows)},
      {"structured_fraction", std::to_string(opts.structuredFraction)},
      {"row_threshold", opts.rowThreshold ? "true" : "false"},
      {"column_scale", opts.columnScale ? "true" : "false"}};
  return success();
}

void SDDecomposePass::runOnOperation() {
  ModuleOp module = getOperation();
  LayerSettings defaults;
  comp::DecomposeOptions &opts = defaults.options;
  opts.threshold = threshold;
  opts.iterations = iterations;
  opts.range = {minExp, maxExp};
  opts.maxBlockRows = blockRows;
  opts.structuredFraction = structuredFraction;
  opts.rowThreshold = rowThreshold;
  opts.columnScale = columnScale;
  comp::Plan plan;
  std::string error;
  if (!planFile.empty() && !comp::readPlan(planFile, plan, error)) {
    emitError(module.getLoc()) << error;
    return signalPassFailure();
  }
  plan.defaults.applyTo(opts);
  int64_t smallest = plan.defaults.minSize.value_or(minSize);
  std::string problem = opts.verify();
  if (problem.empty() && smallest < 0)
    problem = "min-size must be >= 0, got " + std::to_string(smallest);
  if (!problem.empty()) {
    emitError(module.getLoc(), "invalid sd-decompose options")
        << (planFile.empty() ? ": " : " (with the plan's defaults): ")
        << problem;
    return signalPassFailure();
  }
  std::vector<bool> used(plan.layers.size(), false);

  SmallVector<Operation *> candidates = collectLayers(module);

  std::vector<LayerRecord> records;
  for (auto [index, op] : llvm::enumerate(candidates)) {
    WeightMatch match = matchLayerWeight(op);
    LayerRecord record;
    record.index = index;
    record.op = op->getName().getStringRef().str();
    record.name = layerName(op, match.resourceName, index);
    if (match.use)
      record.shape.assign(match.use->shape.begin(), match.use->shape.end());
    else if (op->getNumOperands() > 1)
      if (auto t = dyn_cast<ShapedType>(op->getOperand(1).getType()))
        record.shape.assign(t.getShape().begin(), t.getShape().end());

    LayerSettings settings = defaults;
    comp::PlanSettings planned =
        plan.settingsFor(record.name, int64_t(record.index), used);
    planned.applyTo(settings.options);
    settings.skip = planned.skip.value_or(false);
    settings.form = planned.form.value_or("se");
    problem = settings.options.verify();
    if (!problem.empty()) {
      op->emitError() << "plan settings of layer '" << record.name
                      << "': " << problem;
      return signalPassFailure();
    }

    std::string whyNot = match.whyNot;
    if (whyNot.empty() && settings.skip)
      whyNot = "skipped by the plan";
    if (whyNot.empty() && settings.form != "se")
      whyNot = "its form is " + settings.form + " in the plan";
    if (whyNot.empty() && match.use->numWeights() < smallest)
      whyNot = "the weight has " + std::to_string(match.use->numWeights()) +
               " values, fewer than min-size = " + std::to_string(smallest);
    if (!whyNot.empty()) {
      op->emitRemark() << "layer '" << record.name
                       << "' left dense: " << whyNot;
      record.form = "dense";
      record.reason = whyNot;
      ++numSkipped;
      records.push_back(std::move(record));
      continue;
    }
    if (failed(decomposeLayer(*match.use, settings, record)))
      return signalPassFailure();
    ++numDecomposed;
    records.push_back(std::move(record));
  }

  // An entry that gives a layer to sd-permdiag names a layer that pass has
  // already rewritten when it ran first: not a mistake in the plan.
  for (auto [entry, wasUsed] : llvm::zip(plan.layers, used))
    if (!wasUsed && entry.settings.form.value_or("") != "permdiag")
      emitWarning(module.getLoc()) << "plan entry '" << entry.selector
                                   << "' matches no candidate layer";

  if (!report.empty()) {
    if (failed(writeLayerReport(report, records, error))) {
      emitError(module.getLoc()) << error;
      return signalPassFailure();
    }
  }
}

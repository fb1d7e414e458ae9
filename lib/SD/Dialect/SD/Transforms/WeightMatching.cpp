//===- WeightMatching.cpp - Find constant layer weights -------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/WeightMatching.h"
#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::sd;

int64_t WeightUse::numWeights() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

FailureOr<std::vector<float>> WeightUse::canonicalValues() const {
  FailureOr<SmallVector<float>> stored = readFloats(constant);
  if (failed(stored))
    return failure();
  auto storedShape = cast<ShapedType>(constant.getType()).getShape();
  int64_t rank = shape.size();
  std::vector<float> out(numWeights());
  SmallVector<int64_t> index(rank, 0), operand(operandRank, 0), source;
  for (size_t linear = 0; linear < out.size(); ++linear) {
    for (int64_t d = 0; d < rank; ++d)
      operand[operandDims[d]] = index[d];
    trace.constantIndex(operand, source);
    int64_t offset = 0;
    for (auto [i, size] : llvm::enumerate(storedShape))
      offset = offset * size + source[i];
    out[linear] = (*stored)[offset];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Tracing a weight operand back to its constant
//===----------------------------------------------------------------------===//

void WeightTrace::constantIndex(ArrayRef<int64_t> operandIndex,
                                SmallVectorImpl<int64_t> &out) const {
  SmallVector<int64_t> index(operandIndex);
  for (const LayoutStep &step : steps) {
    SmallVector<int64_t> next;
    if (step.reshape) {
      int64_t linear = 0;
      for (auto [i, size] : llvm::enumerate(step.resultShape))
        linear = linear * size + index[i];
      next.resize(step.sourceShape.size());
      for (int64_t d = step.sourceShape.size() - 1; d >= 0; --d) {
        next[d] = linear % step.sourceShape[d];
        linear /= step.sourceShape[d];
      }
    } else {
      for (auto [dim, fixed] : llvm::zip(step.resultDim, step.fixed))
        next.push_back(dim >= 0 ? index[dim] : fixed);
    }
    index = std::move(next);
  }
  out.assign(index.begin(), index.end());
}

bool WeightTrace::dependsOn(int64_t dim, ArrayRef<int64_t> operandShape) const {
  if (operandShape[dim] == 1)
    return false;
  // Which dimensions of the current value may vary with operand dim `dim`.
  SmallVector<bool> varies(operandShape.size(), false);
  varies[dim] = true;
  for (const LayoutStep &step : steps) {
    SmallVector<bool> next;
    if (step.reshape) {
      bool any = false;
      for (auto [v, size] : llvm::zip(varies, step.resultShape))
        any |= v && size > 1;
      for (int64_t size : step.sourceShape)
        next.push_back(any && size > 1);
    } else {
      for (int64_t d : step.resultDim)
        next.push_back(d >= 0 && varies[d]);
    }
    varies = std::move(next);
  }
  return llvm::is_contained(varies, true);
}

/// A generic whose body yields its one input unchanged.
static bool yieldsInput(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumReductionLoops() != 0)
    return false;
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  return body.getOperations().size() == 1 && yield.getNumOperands() == 1 &&
         yield.getOperand(0) == body.getArgument(0);
}

/// The step of a copying generic: its output map permutes the loops (so a
/// result index fixes every loop), its input map picks loops or constant
/// positions (a broadcast, a transpose, a unit-dimension read, or both).
static std::optional<LayoutStep> genericStep(linalg::GenericOp generic) {
  if (!yieldsInput(generic))
    return std::nullopt;
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (!maps[1].isPermutation())
    return std::nullopt;
  // Result dim j is loop maps[1].getDimPosition(j).
  SmallVector<int64_t> resultOfLoop(maps[1].getNumDims(), -1);
  for (unsigned j = 0; j < maps[1].getNumResults(); ++j)
    resultOfLoop[maps[1].getDimPosition(j)] = j;
  LayoutStep step;
  for (AffineExpr e : maps[0].getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      step.resultDim.push_back(resultOfLoop[dim.getPosition()]);
      step.fixed.push_back(0);
    } else if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      step.resultDim.push_back(-1);
      step.fixed.push_back(c.getValue());
    } else {
      return std::nullopt;
    }
  }
  return step;
}

/// A reshape step between two static shapes of as many elements.
static std::optional<LayoutStep> reshapeStep(Type result, Type source) {
  auto r = dyn_cast<RankedTensorType>(result);
  auto s = dyn_cast<RankedTensorType>(source);
  if (!r || !s || !r.hasStaticShape() || !s.hasStaticShape() ||
      r.getNumElements() != s.getNumElements())
    return std::nullopt;
  LayoutStep step;
  step.reshape = true;
  step.resultShape.assign(r.getShape().begin(), r.getShape().end());
  step.sourceShape.assign(s.getShape().begin(), s.getShape().end());
  return step;
}

/// The step of a layout-only op and the value it reads, or nothing.
static std::optional<std::pair<LayoutStep, Value>> layoutStep(Operation *op) {
  using Result = std::pair<LayoutStep, Value>;
  if (auto transpose = dyn_cast<linalg::TransposeOp>(op)) {
    // Result dim d is input dim permutation[d].
    ArrayRef<int64_t> perm = transpose.getPermutation();
    LayoutStep step;
    step.resultDim.assign(perm.size(), -1);
    step.fixed.assign(perm.size(), 0);
    for (auto [d, p] : llvm::enumerate(perm))
      step.resultDim[p] = d;
    return Result{step, transpose.getInput()};
  }
  if (auto bcast = dyn_cast<linalg::BroadcastOp>(op)) {
    // The input's dims are the result's dims without `dimensions`.
    LayoutStep step;
    int64_t rank = bcast.getInit().getType().getRank();
    for (int64_t d = 0; d < rank; ++d)
      if (!llvm::is_contained(bcast.getDimensions(), d)) {
        step.resultDim.push_back(d);
        step.fixed.push_back(0);
      }
    return Result{step, bcast.getInput()};
  }
  if (auto copy = dyn_cast<linalg::CopyOp>(op)) {
    int64_t rank = cast<ShapedType>(copy.getType(0)).getRank();
    LayoutStep step;
    for (int64_t d = 0; d < rank; ++d) {
      step.resultDim.push_back(d);
      step.fixed.push_back(0);
    }
    return Result{step, copy.getInputs()[0]};
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    if (std::optional<LayoutStep> step = genericStep(generic))
      return Result{*step, generic.getDpsInputs()[0]};
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
          tensor::ReshapeOp>(op))
    if (std::optional<LayoutStep> step =
            reshapeStep(op->getResult(0).getType(), op->getOperand(0).getType()))
      return Result{*step, op->getOperand(0)};
  return std::nullopt;
}

WeightTrace mlir::sd::traceWeight(Value value) {
  WeightTrace trace;
  if (!isa<RankedTensorType>(value.getType())) {
    trace.whyNot = "the weight is not a ranked tensor";
    return trace;
  }
  while (true) {
    Operation *def = value.getDefiningOp();
    if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def)) {
      trace.constant = constant;
      trace.value = constant.getValue();
      trace.chain.push_back(constant);
      return trace;
    }
    if (def && isa<ml_program::GlobalLoadConstOp, ml_program::GlobalLoadOp>(def)) {
      // A global holds the weight only when it can never change: a mutable
      // one (a buffer the program stores to, or one set from outside) is
      // left alone. An immutable global always has a value (its verifier).
      auto symbol = def->getAttrOfType<SymbolRefAttr>("global");
      auto global =
          SymbolTable::lookupNearestSymbolFrom<ml_program::GlobalOp>(def, symbol);
      std::string name = symbol ? symbol.getLeafReference().str() : "?";
      if (!global)
        trace.whyNot = "the weight is read from '@" + name +
                       "', which is not an ml_program.global of this module";
      else if (global.getIsMutable())
        trace.whyNot = "the weight is read from the mutable ml_program global "
                       "'@" + name + "', whose value may change at run time";
      if (!trace.whyNot.empty())
        return trace;
      trace.constant = def;
      trace.value = *global.getValue();
      trace.chain.push_back(def);
      return trace;
    }
    std::optional<std::pair<LayoutStep, Value>> step =
        def ? layoutStep(def) : std::nullopt;
    if (!step) {
      trace.whyNot = def ? "the weight is computed by '" +
                               def->getName().getStringRef().str() +
                               "', not a constant"
                         : "the weight is a function argument, not a constant";
      return trace;
    }
    trace.steps.push_back(std::move(step->first));
    trace.chain.push_back(def);
    value = step->second;
  }
}

/// Checks the constant's element type and data, filling `use` from `trace`.
/// `operandDims[d]` is the operand dimension of canonical dimension d.
static std::string finishUse(WeightUse &use, WeightTrace trace,
                             ArrayRef<int64_t> operandDims, Value operand) {
  if (!trace.whyNot.empty())
    return trace.whyNot;
  auto attr = dyn_cast<ElementsAttr>(trace.value);
  if (!attr)
    return "the weight constant is not an elements attribute";
  if (!attr.getElementType().isF32()) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "the weight element type is " << attr.getElementType()
       << ", only f32 is decomposed";
    return s;
  }
  std::string reason = unreadableReason(attr);
  if (!reason.empty())
    return reason;
  auto operandType = cast<RankedTensorType>(operand.getType());
  if (!operandType.hasStaticShape())
    return "the weight has a dynamic shape";
  ArrayRef<int64_t> operandShape = operandType.getShape();
  // Operand dims that are not weight dims (a batch) must not change what is
  // read: the same matrix for every batch.
  for (int64_t d = 0; d < operandType.getRank(); ++d)
    if (!llvm::is_contained(operandDims, d) &&
        trace.dependsOn(d, operandShape))
      return "the weight differs along the batch dimension (not one matrix "
             "broadcast along the batch)";
  use.constant = attr;
  use.operandDims.assign(operandDims.begin(), operandDims.end());
  use.operandRank = operandType.getRank();
  use.shape.clear();
  for (int64_t d : operandDims)
    use.shape.push_back(operandShape[d]);
  use.chain = trace.chain;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    use.resourceName = resource.getRawHandle().getKey().str();
  use.trace = std::move(trace);
  return {};
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

static WeightMatch matchMatmul(linalg::LinalgOp op, bool batched) {
  WeightMatch match;
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned numDims = batched ? 4 : 3;
  unsigned b = batched ? 1 : 0; // first non-batch loop
  AffineExpr m = getAffineDimExpr(b, ctx), n = getAffineDimExpr(b + 1, ctx),
             k = getAffineDimExpr(b + 2, ctx);
  SmallVector<AffineExpr> lead;
  if (batched)
    lead.push_back(getAffineDimExpr(0, ctx));
  auto map = [&](ArrayRef<AffineExpr> tail) {
    SmallVector<AffineExpr> exprs(lead);
    exprs.append(tail.begin(), tail.end());
    return AffineMap::get(numDims, 0, exprs, ctx);
  };
  if (maps[0] != map({m, k}) || maps[2] != map({m, n})) {
    match.whyNot = "the matmul's indexing maps transpose or broadcast the "
                   "activations, which is not supported";
    return match;
  }
  bool transposedB = maps[1] == map({n, k});
  if (!transposedB && maps[1] != map({k, n})) {
    match.whyNot = "the matmul's weight indexing map is not [k, n] or [n, k]";
    return match;
  }

  Value weight = op.getDpsInputs()[1];
  WeightUse use;
  use.op = op;
  use.kind = LayerKind::Linear;
  use.input = op.getDpsInputs()[0];
  use.init = op.getDpsInits()[0];

  // The operand is [(b,) k, n] or [(b,) n, k]; canonical is [n, k].
  SmallVector<int64_t> canonical = transposedB
                                       ? SmallVector<int64_t>{b, b + 1}
                                       : SmallVector<int64_t>{b + 1, b};
  match.whyNot = finishUse(use, traceWeight(weight), canonical, weight);
  if (match.whyNot.empty())
    match.use = std::move(use);
  return match;
}

template <typename ConvOp>
static WeightMatch matchConv(ConvOp op, ConvLayout layout) {
  WeightMatch match;
  WeightUse use;
  use.op = op;
  use.kind = LayerKind::Conv2D;
  use.layout = layout;
  use.input = op.getDpsInputs()[0];
  use.init = op.getDpsInits()[0];
  for (APInt v : op.getStrides().template getValues<APInt>())
    use.strides.push_back(v.getSExtValue());
  for (APInt v : op.getDilations().template getValues<APInt>())
    use.dilations.push_back(v.getSExtValue());
  // NCHW weights are F x C x R x S; NHWC weights are F x R x S x C.
  SmallVector<int64_t> canonical = layout == ConvLayout::nchw
                                       ? SmallVector<int64_t>{0, 1, 2, 3}
                                       : SmallVector<int64_t>{0, 3, 1, 2};
  Value weight = op.getDpsInputs()[1];
  match.whyNot = finishUse(use, traceWeight(weight), canonical, weight);
  if (!match.whyNot.empty())
    return match;
  // Every kernel shape is decomposed: the layout's rows of 3 run along each
  // filter's C*R*S values (kernel rows for R x 3 kernels, kernel columns for
  // 3 x 1, across kernel rows for 5 x 5 and 7 x 7; docs/decomposition.md).
  match.use = std::move(use);
  return match;
}

static WeightMatch matchLayerWeightImpl(Operation *op) {
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op))
    return matchMatmul(cast<linalg::LinalgOp>(op), /*batched=*/false);
  if (auto bmm = dyn_cast<linalg::BatchMatmulOp>(op))
    return matchMatmul(cast<linalg::LinalgOp>(op), /*batched=*/true);
  if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op))
    return matchConv(conv, ConvLayout::nchw);
  if (auto conv = dyn_cast<linalg::Conv2DNhwcFhwcOp>(op))
    return matchConv(conv, ConvLayout::nhwc);
  WeightMatch match;
  if (isa<linalg::DepthwiseConv2DNchwChwOp, linalg::DepthwiseConv2DNhwcHwcOp,
          linalg::DepthwiseConv2DNhwcHwcmOp>(op))
    match.whyNot = "depthwise convolution: one 3x3 basis per channel would "
                   "store more than the dense kernel";
  else if (isa<linalg::Conv2DNgchwFgchwOp, linalg::Conv2DNgchwGfchwOp,
               linalg::Conv2DNhwgcGfhwcOp>(op))
    match.whyNot = "grouped convolution is not decomposed";
  else if (isa<linalg::Conv2DNhwcHwcfOp, linalg::Conv2DOp>(op))
    match.whyNot = "this convolution form ('" +
                   op->getName().getStringRef().str() +
                   "') is not decomposed; use conv_2d_nchw_fchw or "
                   "conv_2d_nhwc_fhwc";
  return match;
}

std::optional<std::string> mlir::sd::locName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (isa<NameLoc>(inner)) {
        loc = inner;
        break;
      }
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return std::nullopt;
}

std::string mlir::sd::layerName(Operation *op, const std::string &resourceName,
                                int64_t index) {
  if (std::optional<std::string> name = locName(op))
    return *name;
  if (!resourceName.empty())
    return resourceName;
  return "layer" + std::to_string(index);
}

/// The resource name of the constant behind a weight operand, or empty.
static std::string weightResourceName(Value weight) {
  WeightTrace trace = traceWeight(weight);
  if (trace.constant)
    if (auto r = dyn_cast<DenseResourceElementsAttr>(trace.value))
      return r.getRawHandle().getKey().str();
  return {};
}

WeightMatch mlir::sd::matchLayerWeight(Operation *op) {
  WeightMatch match = matchLayerWeightImpl(op);
  if (match.use)
    match.resourceName = match.use->resourceName;
  else if (match.isCandidate() && op->getNumOperands() > 1)
    match.resourceName = weightResourceName(op->getOperand(1));
  if (match.resourceName == "__elided__")
    match.resourceName.clear();
  return match;
}

SmallVector<Operation *> mlir::sd::collectLayers(Operation *root) {
  SmallVector<Operation *> layers;
  root->walk([&](Operation *op) {
    if (matchLayerWeight(op).isCandidate())
      layers.push_back(op);
  });
  return layers;
}

void mlir::sd::replaceLayer(WeightUse &use, Value replacement) {
  use.op->getResult(0).replaceAllUsesWith(replacement);
  use.op->erase();
  for (Operation *dead : use.chain) {
    if (!dead->use_empty())
      continue;
    SmallVector<Operation *> inits;
    for (Value operand : dead->getOperands())
      if (Operation *def = operand.getDefiningOp())
        inits.push_back(def);
    // The global a dead load read goes too once nothing names it, so the
    // dense weight does not stay in the module beside its compressed form.
    ml_program::GlobalOp global;
    Operation *table = nullptr;
    if (auto symbol = dead->getAttrOfType<SymbolRefAttr>("global")) {
      global = SymbolTable::lookupNearestSymbolFrom<ml_program::GlobalOp>(
          dead, symbol);
      table = global ? SymbolTable::getNearestSymbolTable(global) : nullptr;
    }
    dead->erase();
    if (global && table && global.isPrivate() &&
        SymbolTable::symbolKnownUseEmpty(global, table))
      global->erase();
    for (Operation *init : inits)
      if (isa<tensor::EmptyOp>(init) && init->use_empty())
        init->erase();
  }
}

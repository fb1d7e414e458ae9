//===- WeightMatching.cpp - Find constant layer weights -------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/WeightMatching.h"
#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
  int64_t rank = storedShape.size();
  // Strides of the stored tensor, read in canonical order.
  SmallVector<int64_t> storedStrides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    storedStrides[d] = storedStrides[d + 1] * storedShape[d + 1];
  std::vector<float> out(stored->size());
  SmallVector<int64_t> index(rank, 0);
  for (size_t linear = 0; linear < out.size(); ++linear) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d)
      offset += index[d] * storedStrides[permutation[d]];
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

/// A value is its single block argument passed through unchanged.
static bool yieldsFirstArgument(linalg::GenericOp generic) {
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  return body.getOperations().size() == 1 && yield.getNumOperands() == 1 &&
         yield.getOperand(0) == body.getArgument(0);
}

/// A generic that copies its input through a permutation map: returns the
/// permutation (output dim d reads input dim perm[d]).
static std::optional<SmallVector<int64_t>>
genericPermutation(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumReductionLoops() != 0 || !yieldsFirstArgument(generic))
    return std::nullopt;
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (!maps[1].isIdentity() || !maps[0].isPermutation())
    return std::nullopt;
  SmallVector<int64_t> perm(maps[0].getNumResults());
  // maps[0] sends loop dims (= output dims) to input dims.
  for (unsigned i = 0; i < maps[0].getNumResults(); ++i)
    perm[maps[0].getDimPosition(i)] = i;
  return perm;
}

/// A generic that broadcasts a 2-D input along a leading batch dimension.
static bool isLeadingBroadcast(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumReductionLoops() != 0 || !yieldsFirstArgument(generic))
    return false;
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  MLIRContext *ctx = generic.getContext();
  return maps[1].isIdentity() && maps[1].getNumDims() == 3 &&
         maps[0] == AffineMap::get(
                        3, 0,
                        {getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)},
                        ctx);
}

namespace {
/// Where a weight operand comes from: the constant, the permutation from the
/// constant's dims to the operand's dims, and the ops in between.
struct Trace {
  arith::ConstantOp constant;
  SmallVector<int64_t> permutation; // operand dim d = constant dim perm[d]
  SmallVector<Operation *> chain;
  std::string whyNot;
};
} // namespace

static SmallVector<int64_t> composePermutations(ArrayRef<int64_t> inner,
                                                ArrayRef<int64_t> outer) {
  // outer: result dim d reads value dim outer[d]; inner: value dim e reads
  // constant dim inner[e].
  SmallVector<int64_t> out;
  for (int64_t d : outer)
    out.push_back(inner[d]);
  return out;
}

/// Follows transposes (linalg.transpose or a permuting generic) back to an
/// arith.constant.
static Trace traceThroughTransposes(Value value) {
  Trace trace;
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return trace.whyNot = "the weight is not a ranked tensor", trace;
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < type.getRank(); ++d)
    perm.push_back(d);
  while (true) {
    Operation *def = value.getDefiningOp();
    if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def)) {
      trace.constant = constant;
      trace.permutation = perm;
      trace.chain.push_back(constant);
      return trace;
    }
    if (auto transpose = dyn_cast_or_null<linalg::TransposeOp>(def)) {
      // result dim d = input dim permutation[d]
      perm = composePermutations(
          SmallVector<int64_t>(transpose.getPermutation()), perm);
      trace.chain.push_back(transpose);
      value = transpose.getInput();
      continue;
    }
    if (auto generic = dyn_cast_or_null<linalg::GenericOp>(def)) {
      if (std::optional<SmallVector<int64_t>> p = genericPermutation(generic)) {
        perm = composePermutations(*p, perm);
        trace.chain.push_back(generic);
        value = generic.getDpsInputs()[0];
        continue;
      }
    }
    trace.whyNot = def ? "the weight is computed by '" +
                             def->getName().getStringRef().str() +
                             "', not a constant"
                       : "the weight is a function argument, not a constant";
    return trace;
  }
}

/// Checks the constant's element type and data, filling `use` from `trace`.
static std::string finishUse(WeightUse &use, Trace trace,
                             ArrayRef<int64_t> canonicalPerm) {
  if (!trace.whyNot.empty())
    return trace.whyNot;
  auto attr = dyn_cast<ElementsAttr>(trace.constant.getValue());
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
  use.constant = attr;
  // canonical dim d = operand dim canonicalPerm[d] = constant dim
  // trace.permutation[canonicalPerm[d]].
  use.permutation = composePermutations(trace.permutation, canonicalPerm);
  auto storedShape = cast<ShapedType>(attr.getType()).getShape();
  use.shape.clear();
  for (int64_t d : use.permutation)
    use.shape.push_back(storedShape[d]);
  use.chain = trace.chain;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    use.resourceName = resource.getRawHandle().getKey().str();
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

  Trace trace;
  if (batched) {
    // The weight must be one 2-D matrix broadcast along the batch.
    Operation *def = weight.getDefiningOp();
    Value inner;
    if (auto bcast = dyn_cast_or_null<linalg::BroadcastOp>(def)) {
      if (bcast.getDimensions() == ArrayRef<int64_t>{0})
        inner = bcast.getInput();
    } else if (auto generic = dyn_cast_or_null<linalg::GenericOp>(def)) {
      if (isLeadingBroadcast(generic))
        inner = generic.getDpsInputs()[0];
    }
    auto batchType = cast<RankedTensorType>(weight.getType());
    if (!inner && batchType.getDimSize(0) == 1 &&
        isa_and_nonnull<arith::ConstantOp>(def)) {
      // TOSA's matmul keeps a unit batch dimension on a constant weight.
      trace.constant = cast<arith::ConstantOp>(def);
      trace.permutation = {1, 2};
      trace.chain.push_back(def);
    } else if (!inner) {
      match.whyNot = "the batch_matmul's weight is not one matrix broadcast "
                     "along the batch dimension";
      return match;
    } else {
      trace = traceThroughTransposes(inner);
      trace.chain.insert(trace.chain.begin(), def);
    }
  } else {
    trace = traceThroughTransposes(weight);
  }
  // The operand (after any broadcast) is [k, n] or [n, k]; canonical is
  // [n, k].
  SmallVector<int64_t> canonical =
      transposedB ? SmallVector<int64_t>{0, 1} : SmallVector<int64_t>{1, 0};
  match.whyNot = finishUse(use, trace, canonical);
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
  Trace trace = traceThroughTransposes(op.getDpsInputs()[1]);
  match.whyNot = finishUse(use, trace, canonical);
  if (!match.whyNot.empty())
    return match;
  int64_t r = use.shape[2], s = use.shape[3];
  if (!((r == 1 && s == 1) || (r == 3 && s == 3))) {
    match.whyNot = "the kernel is " + std::to_string(r) + "x" +
                   std::to_string(s) +
                   "; only 1x1 and 3x3 kernels are decomposed";
    return match;
  }
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

/// The resource name of the constant behind a weight operand, looking
/// through transposes and broadcasts, or empty.
static std::string weightResourceName(Value weight) {
  while (Operation *def = weight.getDefiningOp()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(def)) {
      if (auto r = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
        return r.getRawHandle().getKey().str();
      return {};
    }
    if (!isa<linalg::TransposeOp, linalg::BroadcastOp, linalg::GenericOp>(
            def) ||
        def->getNumOperands() < 1)
      return {};
    weight = def->getOperand(0);
  }
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
    dead->erase();
    for (Operation *init : inits)
      if (isa<tensor::EmptyOp>(init) && init->use_empty())
        init->erase();
  }
}

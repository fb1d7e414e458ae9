//===- Quantize.cpp - Post-training quantization for the accelerator ------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// --sd-quantize: the layers the accelerator runs become the integer ops of
// docs/QuantizedArithmetic.md, with activation scales from a calibration
// statistics file; every other compute op stays float on the host, and the
// pass says why. The integer parameters themselves are not computed here:
// the quantized ops carry scales, and the one shared rule (SDQuantize.h)
// derives them for the CPU lowering and the accelerator export alike; this
// pass only asks that rule whether a layer can be quantized.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDQuantize.h"
#include "SD/Dialect/SD/Transforms/Passes.h"
#include "SD/Dialect/SD/Transforms/StagedOutputs.h"
#include "SD/Dialect/SD/Transforms/WeightMatching.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

namespace mlir::sd {
#define GEN_PASS_DEF_SDQUANTIZEPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

//===----------------------------------------------------------------------===//
// The calibration statistics file
//===----------------------------------------------------------------------===//

namespace {
/// One tensor's calibration statistics.
struct TensorStats {
  double maxAbs = 0;
  /// max|x| per channel (dimension 1 of an NCHW tensor), when recorded.
  std::vector<double> channels;
};
using StatsTable = llvm::StringMap<TensorStats>;
} // namespace

/// Reads {"format": "sd-calibration-stats", "version": 1, "tensors":
/// {NAME: {"max_abs": X[, "channel_max_abs": [...]]}, ...}}; emits a located
/// error on `module`.
static FailureOr<StatsTable> readStats(StringRef path, ModuleOp module) {
  auto fail = [&](const Twine &why) {
    module.emitError() << "calibration statistics '" << path << "': " << why;
    return failure();
  };
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return fail("not JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fail("the top level must be an object");
  std::optional<StringRef> format = root->getString("format");
  if (!format || *format != "sd-calibration-stats")
    return fail("\"format\" must be \"sd-calibration-stats\"");
  std::optional<int64_t> version = root->getInteger("version");
  if (!version || *version != 1)
    return fail("\"version\" must be 1");
  const llvm::json::Object *tensors = root->getObject("tensors");
  if (!tensors)
    return fail("\"tensors\" must be an object of tensor names");
  StatsTable stats;
  auto usable = [](std::optional<double> v) {
    return v && std::isfinite(*v) && *v >= 0;
  };
  for (const auto &[key, value] : *tensors) {
    const llvm::json::Object *entry = value.getAsObject();
    std::optional<double> maxAbs =
        entry ? entry->getNumber("max_abs") : std::nullopt;
    if (!usable(maxAbs))
      return fail("tensor '" + key.str() +
                  "': \"max_abs\" must be a finite number >= 0");
    TensorStats &t = stats[key.str()];
    t.maxAbs = *maxAbs;
    if (const llvm::json::Value *ch = entry->get("channel_max_abs")) {
      const llvm::json::Array *list = ch->getAsArray();
      if (!list)
        return fail("tensor '" + key.str() +
                    "': \"channel_max_abs\" must be an array of numbers");
      for (const llvm::json::Value &c : *list) {
        if (!usable(c.getAsNumber()))
          return fail("tensor '" + key.str() +
                      "': \"channel_max_abs\" must hold finite numbers >= 0");
        t.channels.push_back(*c.getAsNumber());
      }
    }
  }
  return stats;
}

//===----------------------------------------------------------------------===//
// Matching helpers
//===----------------------------------------------------------------------===//


/// The one computation a linalg.generic yields, all other body ops being
/// constants; null otherwise.
static Operation *yieldedComputation(linalg::GenericOp g) {
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return nullptr;
  Operation *def = yield.getOperand(0).getDefiningOp();
  if (!def || def->getBlock() != &body)
    return nullptr;
  for (Operation &op : body.without_terminator())
    if (&op != def && !isa<arith::ConstantOp>(op))
      return nullptr;
  return def;
}

static bool allParallel(linalg::GenericOp g) {
  return llvm::all_of(g.getIteratorTypesArray(), [](utils::IteratorType t) {
    return t == utils::IteratorType::parallel;
  });
}

static bool isFloatZero(Value v) {
  return matchPattern(v, m_AnyZeroFloat());
}

/// A value filled with the float `zero` (or -inf when `negInf`).
static bool isFilled(Value init, bool negInf) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  Value v = fill.getInputs()[0];
  if (!negInf)
    return isFloatZero(v);
  FloatAttr f;
  return matchPattern(v, m_Constant(&f)) && f.getValue().isInfinity() &&
         f.getValue().isNegative();
}

/// Whether the generic's block arguments `a`, `b` are the operands of `op`.
static bool usesArgs(Operation *op, BlockArgument a, Value b) {
  return op->getNumOperands() == 2 &&
         ((op->getOperand(0) == a && op->getOperand(1) == b) ||
          (op->getOperand(1) == a && op->getOperand(0) == b));
}

/// `user` adds a constant 1-D bias along dimension `channelDim` to `v`
/// (the importers' bias add); returns the bias value.
static Value matchBiasAdd(Operation *user, Value v, unsigned channelDim) {
  auto g = dyn_cast<linalg::GenericOp>(user);
  if (!g || g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      !allParallel(g) || g.getDpsInputs()[0] != v)
    return {};
  Value bias = g.getDpsInputs()[1];
  auto biasType = dyn_cast<RankedTensorType>(bias.getType());
  if (!biasType || biasType.getRank() != 1 ||
      !matchPattern(bias, m_Constant()))
    return {};
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  unsigned rank = maps[0].getNumDims();
  MLIRContext *ctx = g.getContext();
  if (!maps[0].isIdentity() || !maps[2].isIdentity() ||
      maps[1] != AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx)))
    return {};
  Operation *add = yieldedComputation(g);
  Block &body = g.getRegion().front();
  if (!isa_and_nonnull<arith::AddFOp>(add) ||
      !usesArgs(add, body.getArgument(0), body.getArgument(1)))
    return {};
  return bias;
}

/// `user` is an elementwise max(v, 0).
static bool matchRelu(Operation *user, Value v) {
  auto g = dyn_cast<linalg::GenericOp>(user);
  if (!g || g.getNumDpsInputs() != 1 || g.getDpsInputs()[0] != v ||
      !allParallel(g) ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Operation *max = yieldedComputation(g);
  if (!isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(max))
    return false;
  BlockArgument in = g.getRegion().front().getArgument(0);
  Value other = max->getOperand(0) == in ? max->getOperand(1)
                                         : max->getOperand(0);
  return (max->getOperand(0) == in || max->getOperand(1) == in) &&
         isFloatZero(other);
}

/// `g` adds two activations of the same shape elementwise.
static bool matchResidualAdd(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 || !allParallel(g) ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Value a = g.getDpsInputs()[0], b = g.getDpsInputs()[1];
  if (a.getType() != b.getType() || a.getType() != g.getResult(0).getType() ||
      matchPattern(a, m_Constant()) || matchPattern(b, m_Constant()))
    return false;
  Operation *add = yieldedComputation(g);
  Block &body = g.getRegion().front();
  return isa_and_nonnull<arith::AddFOp>(add) &&
         usesArgs(add, body.getArgument(0), body.getArgument(1));
}

static SmallVector<int64_t> i64s(DenseIntElementsAttr attr) {
  return llvm::to_vector(attr.getValues<int64_t>());
}

/// Why the body of a host generic cannot run on the accelerator, naming what
/// it computes.
static std::string genericReason(linalg::GenericOp g) {
  std::string ops;
  llvm::StringSet<> seen;
  for (Operation &op : g.getRegion().front().without_terminator()) {
    if (isa<arith::ConstantOp>(op) || !seen.insert(op.getName().getStringRef())
                                           .second)
      continue;
    ops += (ops.empty() ? "" : ", ") + op.getName().getStringRef().str();
  }
  bool reduction = !allParallel(g);
  return std::string("no accelerator form for ") +
         (reduction ? "a reduction" : "an elementwise") + " linalg.generic" +
         (ops.empty() ? std::string(" (copy or broadcast)")
                      : " computing " + ops);
}

//===----------------------------------------------------------------------===//
// The rewriting
//===----------------------------------------------------------------------===//

namespace {

/// One op's outcome, for the report.
struct Decision {
  std::string name, op, target, reason;
  double inputScale = 0, outputScale = 0;
  bool equalized = false;
};

class Quantizer {
public:
  Quantizer(func::FuncOp func, const StatsTable &stats,
            const llvm::StringSet<> &host)
      : func(func), stats(stats), host(host), b(func.getContext()) {}

  void run(std::vector<Decision> &decisions, int64_t &accel, int64_t &onHost);

private:
  /// A fused layer: the ops it replaces, first (anchor) to last.
  struct Group {
    SmallVector<Operation *> ops;
    Value bias;
    bool relu = false;
    Value result() const { return ops.back()->getResult(0); }
  };

  void nameValues();
  std::string nameOf(Value v) const;
  std::optional<double> scaleOf(Value v, std::string &why) const;
  SmallVector<double> equalizers(Value v, int64_t channels) const;
  Value scaleChannels(Value v, ArrayRef<double> factors, unsigned dim = 1);

public:
  Value undoChannelScaling(Value v, ArrayRef<double> factors, unsigned dim) {
    return scaleChannels(v, factors, dim);
  }

private:
  bool hostOnlyUsers(Value v) const;
  Value quantizedInput(Value v, double &scale, std::string &why);
  Value layerInput(Group &g, Value input, double &inputScale,
                   double &outputScale, std::string &why);
  void fuseEpilogue(Group &g, unsigned channelDim, bool bias);
  LogicalResult finish(Group &g, Operation *quantized, double inputScale,
                       double outputScale, Decision &d);

  LogicalResult rewriteConv(ShiftAddConv2DOp op, Decision &d);
  LogicalResult rewriteMatmul(Operation *op, Decision &d);
  LogicalResult rewriteDepthwise(linalg::DepthwiseConv2DNchwChwOp op,
                                 Decision &d);
  LogicalResult rewriteAdd(linalg::GenericOp op, Decision &d);
  LogicalResult rewriteMaxPool(linalg::PoolingNchwMaxOp op, Decision &d);
  LogicalResult rewriteDense(WeightUse &use, Decision &d);
  LogicalResult emitMatmul(Group &g, Value input, Value weight, Decision &d,
                           ArrayRef<double> alpha = {}, double outScale = 0);
  bool equalizeRows(Group &g, unsigned channelDim, std::vector<float> &w,
                    int64_t rows, SmallVector<double> &alpha, double &outScale);

  func::FuncOp func;
  const StatsTable &stats;
  const llvm::StringSet<> &host;
  OpBuilder b;
  DenseMap<Value, std::string> names;
  DenseMap<Value, std::pair<Value, double>> quantized;
  DenseSet<Operation *> fused;
  DenseMap<Operation *, std::string> reasons;
};

} // namespace

void Quantizer::nameValues() {
  for (BlockArgument arg : func.getArguments())
    names[arg] = "arg" + std::to_string(arg.getArgNumber());
  llvm::StringMap<int64_t> count;
  for (Operation &op : func.getBody().front()) {
    std::optional<std::string> name = locName(&op);
    if (!name || op.getNumResults() != 1)
      continue;
    // A node lowered into several ops: only the last is the node's output.
    bool inner = llvm::any_of(op.getUsers(), [&](Operation *user) {
      return locName(user) == name;
    });
    if (inner)
      continue;
    int64_t k = count[*name]++;
    names[op.getResult(0)] = k ? *name + "#" + std::to_string(k) : *name;
  }
}

/// The name of `v`, looking through zero pads and reshapes (they keep
/// max|x|).
std::string Quantizer::nameOf(Value v) const {
  while (Operation *def = v.getDefiningOp()) {
    if (auto pad = dyn_cast<tensor::PadOp>(def)) {
      Value p = pad.getConstantPaddingValue();
      if (!p || !isFloatZero(p))
        break;
      v = pad.getSource();
    } else if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def)) {
      v = def->getOperand(0);
    } else {
      break;
    }
  }
  auto it = names.find(v);
  return it == names.end() ? std::string() : it->second;
}

std::optional<double> Quantizer::scaleOf(Value v, std::string &why) const {
  std::string name = nameOf(v);
  if (name.empty()) {
    why = "a tensor it reads or writes has no name (loc) to find "
          "calibration statistics by";
    return std::nullopt;
  }
  auto it = stats.find(name);
  if (it == stats.end()) {
    why = "no calibration statistics for tensor '" + name + "'";
    return std::nullopt;
  }
  return (it->second.maxAbs > 0 ? it->second.maxAbs : 1.0) / 127.0;
}

/// R / r_c per channel of `v` (R = max_c r_c; 1 where r_c is 0; at most
/// 2^10, so no channel's values grow past what int8 and the weights
/// resolve), or nothing without `channels` per-channel statistics.
SmallVector<double> Quantizer::equalizers(Value v, int64_t channels) const {
  auto it = stats.find(nameOf(v));
  if (it == stats.end() ||
      static_cast<int64_t>(it->second.channels.size()) != channels)
    return {};
  const std::vector<double> &r = it->second.channels;
  double top = *std::max_element(r.begin(), r.end());
  if (!(top > 0))
    return {};
  SmallVector<double> f;
  for (double rc : r)
    f.push_back(rc > 0 ? std::min(top / rc, 1024.0) : 1.0);
  return f;
}

/// Whether every user of `v` is float host code (an elementwise generic the
/// accelerator has no form for), so per-channel scaling can be undone there.
bool Quantizer::hostOnlyUsers(Value v) const {
  return !v.use_empty() && llvm::all_of(v.getUsers(), [](Operation *user) {
    auto generic = dyn_cast<linalg::GenericOp>(user);
    return generic && !matchResidualAdd(generic);
  });
}

/// Host code multiplying channel c (dimension `dim`) of float `v` by
/// factors[c], right after `v` is defined.
Value Quantizer::scaleChannels(Value v, ArrayRef<double> factors,
                               unsigned dim) {
  OpBuilder::InsertionGuard guard(b);
  if (Operation *def = v.getDefiningOp())
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
  auto type = cast<RankedTensorType>(v.getType());
  Location loc = v.getLoc();
  SmallVector<float> f(factors.begin(), factors.end());
  Value c = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          RankedTensorType::get({int64_t(f.size())}, b.getF32Type()),
          ArrayRef<float>(f)));
  MLIRContext *ctx = b.getContext();
  unsigned rank = type.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(),
                                        type.getElementType());
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{v, c}, ValueRange{empty},
             ArrayRef<AffineMap>{id, AffineMap::get(rank, 0,
                                                    getAffineDimExpr(dim, ctx)),
                                 id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   arith::MulFOp::create(nb, nloc, args[0], args[1])
                       .getResult());
             })
      .getResult(0);
}

/// The int8 form of float `v`: the int8 value an earlier layer dequantized,
/// an int8 zero pad of the int8 form of the pad's source, or a new
/// sd.quantize with the calibrated scale.
Value Quantizer::quantizedInput(Value v, double &scale, std::string &why) {
  if (auto dq = v.getDefiningOp<DequantizeOp>()) {
    scale = dq.getScale().convertToDouble();
    return dq.getInput();
  }
  if (auto it = quantized.find(v); it != quantized.end()) {
    scale = it->second.second;
    return it->second.first;
  }
  auto type = cast<RankedTensorType>(v.getType());
  auto i8Type = RankedTensorType::get(type.getShape(), b.getI8Type());
  Value result;
  if (auto pad = v.getDefiningOp<tensor::PadOp>();
      pad && pad.getConstantPaddingValue() &&
      isFloatZero(pad.getConstantPaddingValue())) {
    Value source = quantizedInput(pad.getSource(), scale, why);
    if (!source)
      return {};
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(pad);
    if (Operation *def = source.getDefiningOp();
        def && def->getBlock() == pad->getBlock() &&
        pad->isBeforeInBlock(def))
      b.setInsertionPointAfter(def);
    Value zero = arith::ConstantOp::create(b, pad.getLoc(),
                                           b.getIntegerAttr(b.getI8Type(), 0));
    result = tensor::PadOp::create(b, pad.getLoc(), i8Type, source,
                                   pad.getMixedLowPad(), pad.getMixedHighPad(),
                                   zero);
  } else if (isa_and_nonnull<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
                 v.getDefiningOp())) {
    // Reshapes move no bytes: reshape the int8 form of the source.
    Operation *reshape = v.getDefiningOp();
    Value source = quantizedInput(reshape->getOperand(0), scale, why);
    if (!source)
      return {};
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(reshape);
    if (Operation *def = source.getDefiningOp();
        def && def->getBlock() == reshape->getBlock() &&
        reshape->isBeforeInBlock(def))
      b.setInsertionPointAfter(def);
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(reshape))
      result = tensor::CollapseShapeOp::create(
          b, reshape->getLoc(), i8Type, source,
          collapse.getReassociationIndices());
    else
      result = tensor::ExpandShapeOp::create(
          b, reshape->getLoc(), i8Type, source,
          cast<tensor::ExpandShapeOp>(reshape).getReassociationIndices(),
          cast<tensor::ExpandShapeOp>(reshape).getMixedOutputShape());
  } else {
    std::optional<double> s = scaleOf(v, why);
    if (!s)
      return {};
    scale = *s;
    OpBuilder::InsertionGuard guard(b);
    if (Operation *def = v.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
    result = QuantizeOp::create(b, v.getLoc(), i8Type, v,
                                b.getF64FloatAttr(scale));
  }
  quantized[v] = {result, scale};
  return result;
}

/// The int8 input of a one-input layer and both scales; the builder is left
/// before the group's last op, where the quantized layer goes.
Value Quantizer::layerInput(Group &g, Value input, double &inputScale,
                            double &outputScale, std::string &why) {
  Value x = quantizedInput(input, inputScale, why);
  if (!x)
    return {};
  std::optional<double> s = scaleOf(g.result(), why);
  if (!s)
    return {};
  outputScale = *s;
  b.setInsertionPoint(g.ops.back());
  return x;
}

/// Adds the bias add (when `bias` and the layer has none) and the ReLU that
/// follow the group's result, each when it is the result's only user.
void Quantizer::fuseEpilogue(Group &g, unsigned channelDim, bool bias) {
  auto only = [](Value v) -> Operation * {
    return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
  };
  if (bias)
    if (Operation *user = only(g.result()))
      if (Value bv = matchBiasAdd(user, g.result(), channelDim)) {
        g.bias = bv;
        g.ops.push_back(user);
      }
  if (Operation *user = only(g.result()); user && matchRelu(user, g.result())) {
    g.relu = true;
    g.ops.push_back(user);
  }
}

/// Checks `quantized` against the verifier and the shared quantization rule;
/// on success replaces the group's result by its dequantized output.
LogicalResult Quantizer::finish(Group &g, Operation *quantizedOp,
                                double inputScale, double outputScale,
                                Decision &d) {
  std::string message;
  LogicalResult ok = success();
  {
    ScopedDiagnosticHandler handler(func.getContext(), [&](Diagnostic &d) {
      if (message.empty())
        message = d.str();
      return success();
    });
    ok = verify(quantizedOp);
    // Layers with weights: ask the shared rule for their integer parameters.
    if (succeeded(ok)) {
      if (auto conv = dyn_cast<QuantizedConv2DOp>(quantizedOp)) {
        if (auto se = conv.getWeight().getDefiningOp<SEConstantOp>())
          ok = quantizeLayerOf(conv, se);
        else
          ok = quantizeDenseOf(conv);
      } else if (auto fc = dyn_cast<QuantizedMatmulOp>(quantizedOp)) {
        if (isa<RankedTensorType>(fc.getWeight().getType()))
          ok = quantizeDenseOf(fc);
        else if (auto se = fc.getWeight().getDefiningOp<SEConstantOp>())
          ok = quantizeLayerOf(fc, se);
        else if (auto pd = fc.getWeight().getDefiningOp<PermDiagConstantOp>())
          ok = quantizeLayerOf(fc, pd, fc.getBias(), inputScale, outputScale,
                               fc.getRelu());
      } else if (auto dw = dyn_cast<QuantizedDepthwiseConv2DOp>(quantizedOp))
        ok = quantizeDepthwiseOf(dw);
    }
  }
  if (failed(ok)) {
    d.reason = message.empty() ? "the layer cannot be quantized" : message;
    // Drop what was built for it (the int8 input chain is dropped later if
    // nothing else uses it).
    Value result = quantizedOp->getResult(0);
    for (Operation *user : llvm::to_vector(result.getUsers()))
      user->erase();
    quantizedOp->erase();
    return failure();
  }
  d.inputScale = inputScale;
  d.outputScale = outputScale;
  // An unnamed anchor (a residual add) goes by its output's name.
  if (d.name.empty())
    d.name = nameOf(g.result());
  fused.insert(g.ops.begin(), g.ops.end());
  return success();
}

/// Replaces the group's result by `dequantize(int8Result)`, each channel
/// (dimension `dim`) then divided by alpha_c when the layer computed
/// alpha-scaled channels.
static void replaceGroup(OpBuilder &b, Operation *last, Value int8Result,
                         double outputScale, ArrayRef<double> alpha = {},
                         unsigned dim = 1, Quantizer *q = nullptr);

static RankedTensorType asInt8(Type t) {
  auto r = cast<RankedTensorType>(t);
  return RankedTensorType::get(r.getShape(), IntegerType::get(t.getContext(),
                                                              8));
}

static void replaceGroup(OpBuilder &b, Operation *last, Value int8Result,
                         double outputScale, ArrayRef<double> alpha,
                         unsigned dim, Quantizer *q) {
  Value out = DequantizeOp::create(b, last->getLoc(),
                                   last->getResult(0).getType(), int8Result,
                                   b.getF64FloatAttr(outputScale));
  if (!alpha.empty()) {
    SmallVector<double> inverse;
    for (double a : alpha)
      inverse.push_back(1.0 / a);
    out = q->undoChannelScaling(out, inverse, dim);
  }
  last->getResult(0).replaceAllUsesWith(out);
}

/// Row equalization of a dense layer whose result only host code reads:
/// alpha_c = max_k max|W_k| / max|W_c| (at most 2^10) gives every output
/// channel's weights the whole int8 range of the layer's one scale; the
/// layer then computes alpha-scaled channels, whose range the per-channel
/// statistics give (max_c alpha_c r_c), and the host divides them back.
/// Scales `w` ([rows, ...] row-major) and the fused bias in place; false
/// (nothing changed) without per-channel statistics of the result.
bool Quantizer::equalizeRows(Group &g, unsigned channelDim,
                             std::vector<float> &w, int64_t rows,
                             SmallVector<double> &alpha, double &outScale) {
  if (!hostOnlyUsers(g.result()))
    return false;
  auto it = stats.find(nameOf(g.result()));
  if (it == stats.end() ||
      static_cast<int64_t>(it->second.channels.size()) != rows ||
      cast<RankedTensorType>(g.result().getType()).getDimSize(channelDim) !=
          rows)
    return false;
  int64_t cols = static_cast<int64_t>(w.size()) / rows;
  SmallVector<double> rowMax(rows, 0.0);
  double top = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k)
      rowMax[r] = std::max(rowMax[r], double(std::fabs(w[r * cols + k])));
    top = std::max(top, rowMax[r]);
  }
  if (!(top > 0))
    return false;
  ElementsAttr biasAttr;
  FailureOr<SmallVector<float>> bias = SmallVector<float>();
  if (g.bias)
    bias = matchPattern(g.bias, m_Constant(&biasAttr))
               ? readFloats(biasAttr)
               : FailureOr<SmallVector<float>>(failure());
  if (failed(bias))
    return false;
  alpha.clear();
  double range = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double a = rowMax[r] > 0 ? std::min(top / rowMax[r], 1024.0) : 1.0;
    alpha.push_back(a);
    range = std::max(range, a * it->second.channels[r]);
    for (int64_t k = 0; k < cols; ++k)
      w[r * cols + k] = float(w[r * cols + k] * a);
    if (g.bias)
      (*bias)[r] = float((*bias)[r] * a);
  }
  outScale = (range > 0 ? range : 1.0) / 127.0;
  if (g.bias) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(g.ops.front());
    g.bias = arith::ConstantOp::create(
        b, g.bias.getLoc(),
        DenseElementsAttr::get(cast<RankedTensorType>(g.bias.getType()),
                               ArrayRef<float>(*bias)));
  }
  return true;
}

LogicalResult Quantizer::rewriteConv(ShiftAddConv2DOp op, Decision &d) {
  std::string &why = d.reason;
  if (op.getLayout() != ConvLayout::nchw)
    return why = "the accelerator reads NCHW activations; this "
                 "convolution is NHWC",
           failure();
  if (llvm::any_of(op.getDilations(), [](int64_t v) { return v != 1; }))
    return why = "the accelerator has no dilated convolutions", failure();
  if (!isFilled(op.getInit(), false))
    return why = "the convolution accumulates into a non-zero tensor",
           failure();
  if (!op.getWeight().getDefiningOp<SEConstantOp>())
    return why = "the weight is not an sd.se_constant", failure();
  Group g;
  g.ops.push_back(op);
  g.bias = op.getBias();
  fuseEpilogue(g, 1, !g.bias);
  double si, so;
  Value x = layerInput(g, op.getInput(), si, so, why);
  if (!x)
    return failure();
  auto q = QuantizedConv2DOp::create(
      b, op.getLoc(), asInt8(g.result().getType()), x, op.getWeight(), g.bias,
      b.getF64FloatAttr(si), b.getF64FloatAttr(so),
      g.relu ? b.getUnitAttr() : UnitAttr(), op.getStridesAttr(),
      op.getDilationsAttr());
  if (failed(finish(g, q, si, so, d)))
    return failure();
  replaceGroup(b, g.ops.back(), q.getResult(), so);
  return success();
}

LogicalResult Quantizer::rewriteMatmul(Operation *op, Decision &d) {
  std::string &why = d.reason;
  Value input = op->getOperand(0), weight = op->getOperand(1);
  Value bias = isa<ShiftAddMatmulOp>(op) ? cast<ShiftAddMatmulOp>(op).getBias()
                                         : cast<PermDiagMatmulOp>(op).getBias();
  Value init = isa<ShiftAddMatmulOp>(op) ? cast<ShiftAddMatmulOp>(op).getInit()
                                         : cast<PermDiagMatmulOp>(op).getInit();
  auto inType = cast<RankedTensorType>(input.getType());
  if (inType.getRank() < 2 || !inType.hasStaticShape())
    return why = "the accelerator's fully connected layers take static "
                 "inputs of rank 2 or more",
           failure();
  if (!isFilled(init, false))
    return why = "the layer accumulates into a non-zero tensor", failure();
  if (!weight.getDefiningOp<SEConstantOp>() &&
      !weight.getDefiningOp<PermDiagConstantOp>())
    return why = "the weight is not an sd.se_constant or "
                 "sd.permdiag_constant",
           failure();
  Group g;
  g.ops.push_back(op);
  g.bias = bias;
  fuseEpilogue(g, inType.getRank() - 1, !g.bias);
  return emitMatmul(g, input, weight, d);
}

/// The quantized fully connected layer of group `g` (its anchor and fused
/// bias and ReLU) reading float `input` [..., K] with `weight` [N, K].
LogicalResult Quantizer::emitMatmul(Group &g, Value input, Value weight,
                                    Decision &d, ArrayRef<double> alpha,
                                    double outScale) {
  std::string &why = d.reason;
  unsigned rank = cast<RankedTensorType>(input.getType()).getRank();
  double si, so;
  Value x = layerInput(g, input, si, so, why);
  if (!x)
    return failure();
  if (!alpha.empty())
    so = outScale;
  Location loc = g.ops.front()->getLoc();
  auto outType = asInt8(g.result().getType());
  // The accelerator multiplies [rows, K] by W^T: leading dimensions fold
  // into rows, which row-major reshapes do without moving bytes.
  SmallVector<ReassociationIndices> groups;
  if (rank > 2) {
    ReassociationIndices lead;
    for (unsigned i = 0; i + 1 < rank; ++i)
      lead.push_back(i);
    groups = {lead, {int64_t(rank - 1)}};
    x = tensor::CollapseShapeOp::create(b, loc, x, groups);
  }
  int64_t rows = cast<RankedTensorType>(x.getType()).getDimSize(0);
  auto q = QuantizedMatmulOp::create(
      b, loc,
      RankedTensorType::get({rows, outType.getShape().back()},
                            b.getI8Type()),
      x, weight, g.bias, b.getF64FloatAttr(si), b.getF64FloatAttr(so),
      g.relu ? b.getUnitAttr() : UnitAttr());
  if (failed(finish(g, q, si, so, d)))
    return failure();
  Value y = q.getResult();
  if (rank > 2)
    y = tensor::ExpandShapeOp::create(b, loc, outType, y, groups);
  replaceGroup(b, g.ops.back(), y, so, alpha, rank - 1, this);
  return success();
}

/// A convolution or fully connected layer whose weight is a dense constant
/// (a dense or int-k layer of the plan): the accelerator's `dense` format,
/// the weight in canonical order ([F, C, R, S] or [N, K]) as an f32
/// constant of the quantized op.
LogicalResult Quantizer::rewriteDense(WeightUse &use, Decision &d) {
  std::string &why = d.reason;
  Operation *op = use.op;
  if (llvm::any_of(use.dilations, [](int64_t v) { return v != 1; }))
    return why = "the accelerator has no dilated convolutions", failure();
  if (!isFilled(use.init, false))
    return why = "the layer accumulates into a non-zero tensor", failure();
  auto inType = dyn_cast<RankedTensorType>(use.input.getType());
  auto outType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!inType || !outType || !inType.hasStaticShape() ||
      !outType.hasStaticShape())
    return why = "the accelerator takes static shapes", failure();
  if (use.kind == LayerKind::Conv2D && use.layout != ConvLayout::nchw)
    return why = "the accelerator reads NCHW activations; this "
                 "convolution is NHWC",
           failure();
  if (use.kind == LayerKind::Linear) {
    // [..., K] -> [..., N]: the accelerator multiplies rows by W^T.
    SmallVector<int64_t> expected(inType.getShape());
    if (inType.getRank() < 2 || expected.back() != use.shape[1])
      return why = "the accelerator's fully connected layers take static "
                   "inputs of rank 2 or more, K last",
             failure();
    expected.back() = use.shape[0];
    if (outType.getShape() != ArrayRef<int64_t>(expected))
      return why = "the layer's result is not its input with K replaced "
                   "by N",
             failure();
  }
  FailureOr<std::vector<float>> values = use.canonicalValues();
  if (failed(values))
    return why = "the weight's data cannot be read", failure();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  Group g;
  g.ops.push_back(op);
  unsigned channelDim =
      use.kind == LayerKind::Linear ? inType.getRank() - 1 : 1;
  fuseEpilogue(g, channelDim, true);
  SmallVector<double> alpha;
  double equalizedScale = 0;
  if (equalizeRows(g, channelDim, *values, use.shape[0], alpha,
                   equalizedScale))
    d.equalized = true;
  auto wType = RankedTensorType::get(use.shape, b.getF32Type());
  Value w = arith::ConstantOp::create(
      b, use.trace.constant ? use.trace.constant->getLoc() : op->getLoc(),
      DenseElementsAttr::get(wType, ArrayRef<float>(*values)));
  LogicalResult result = failure();
  if (use.kind == LayerKind::Linear) {
    result = emitMatmul(g, use.input, w, d, alpha, equalizedScale);
  } else {
    double si, so;
    if (Value x = layerInput(g, use.input, si, so, why)) {
      if (!alpha.empty())
        so = equalizedScale;
      auto q = QuantizedConv2DOp::create(
          b, op->getLoc(), asInt8(g.result().getType()), x, w, g.bias,
          b.getF64FloatAttr(si), b.getF64FloatAttr(so),
          g.relu ? b.getUnitAttr() : UnitAttr(),
          b.getDenseI64ArrayAttr(use.strides),
          b.getDenseI64ArrayAttr(use.dilations));
      if (succeeded(finish(g, q, si, so, d))) {
        replaceGroup(b, g.ops.back(), q.getResult(), so, alpha, 1, this);
        result = success();
      }
    }
  }
  if (failed(result) && w.use_empty())
    w.getDefiningOp()->erase();
  return result;
}

LogicalResult
Quantizer::rewriteDepthwise(linalg::DepthwiseConv2DNchwChwOp op, Decision &d) {
  std::string &why = d.reason;
  if (llvm::any_of(i64s(op.getDilations()), [](int64_t v) { return v != 1; }))
    return why = "the accelerator has no dilated convolutions", failure();
  if (!isFilled(op.getDpsInits()[0], false))
    return why = "the convolution accumulates into a non-zero tensor",
           failure();
  auto constant = op.getInputs()[1].getDefiningOp<arith::ConstantOp>();
  auto wType = cast<RankedTensorType>(op.getInputs()[1].getType());
  ElementsAttr wAttr =
      constant ? dyn_cast<ElementsAttr>(constant.getValue()) : ElementsAttr();
  if (!wAttr || !wType.getElementType().isF32())
    return why = "the weight is not an f32 constant", failure();
  // sd.quantized_depthwise_conv2d takes the C x 1 x R x S form.
  auto w4Type = RankedTensorType::get(
      {wType.getDimSize(0), 1, wType.getDimSize(1), wType.getDimSize(2)},
      wType.getElementType());
  ElementsAttr w4;
  if (auto dense = dyn_cast<DenseElementsAttr>(wAttr))
    w4 = dense.reshape(w4Type);
  else if (auto resource = dyn_cast<DenseResourceElementsAttr>(wAttr))
    w4 = DenseResourceElementsAttr::get(w4Type, resource.getRawHandle());
  else
    return why = "the weight's data is neither dense nor a dense_resource",
           failure();
  Group g;
  g.ops.push_back(op);
  fuseEpilogue(g, 1, true);
  // Channel equalization where float host code is on either side: the
  // host scales input channels by beta before quantizing and output
  // channels by 1 / alpha after dequantizing; the layer computes with
  // W_c * alpha_c / beta_c and bias_c * alpha_c.
  int64_t channels = wType.getDimSize(0);
  Value input = op.getInputs()[0], source = input;
  auto pad = input.getDefiningOp<tensor::PadOp>();
  if (pad && pad.getConstantPaddingValue() &&
      isFloatZero(pad.getConstantPaddingValue()))
    source = pad.getSource();
  SmallVector<double> beta, alpha;
  if (!source.getDefiningOp<DequantizeOp>() && !quantized.count(source))
    beta = equalizers(source, channels);
  if (hostOnlyUsers(g.result()))
    alpha = equalizers(g.result(), channels);
  if (!beta.empty()) {
    Value scaled = scaleChannels(source, beta);
    names[scaled] = nameOf(source);
    input = scaled;
    if (source != op.getInputs()[0]) {
      IRMapping map;
      map.map(source, scaled);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(pad);
      input = b.clone(*pad, map)->getResult(0);
    }
  }
  if (!beta.empty() || !alpha.empty()) {
    FailureOr<SmallVector<float>> values = readFloats(wAttr);
    if (failed(values))
      return why = "the weight's data cannot be read", failure();
    int64_t window = wType.getDimSize(1) * wType.getDimSize(2);
    for (int64_t c = 0; c < channels; ++c) {
      double f = (alpha.empty() ? 1.0 : alpha[c]) / (beta.empty() ? 1.0 : beta[c]);
      for (int64_t k = 0; k < window; ++k)
        (*values)[c * window + k] = float((*values)[c * window + k] * f);
    }
    w4 = DenseElementsAttr::get(w4Type, ArrayRef<float>(*values));
    ElementsAttr biasAttr;
    if (!alpha.empty() && g.bias) {
      FailureOr<SmallVector<float>> bias =
          matchPattern(g.bias, m_Constant(&biasAttr))
              ? readFloats(biasAttr)
              : FailureOr<SmallVector<float>>(failure());
      if (failed(bias))
        return why = "the bias is not a readable constant", failure();
      for (int64_t c = 0; c < channels; ++c)
        (*bias)[c] = float((*bias)[c] * alpha[c]);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(op);
      g.bias = arith::ConstantOp::create(
          b, g.bias.getLoc(),
          DenseElementsAttr::get(cast<RankedTensorType>(g.bias.getType()),
                                 ArrayRef<float>(*bias)));
    }
  }
  double si, so;
  Value x = layerInput(g, input, si, so, why);
  if (!x)
    return failure();
  Value w = arith::ConstantOp::create(b, constant.getLoc(), w4Type,
                                      cast<TypedAttr>(w4));
  auto q = QuantizedDepthwiseConv2DOp::create(
      b, op.getLoc(), asInt8(g.result().getType()), x, w, g.bias,
      b.getF64FloatAttr(si), b.getF64FloatAttr(so),
      g.relu ? b.getUnitAttr() : UnitAttr(),
      b.getDenseI64ArrayAttr(i64s(op.getStrides())));
  if (failed(finish(g, q, si, so, d))) {
    w.getDefiningOp()->erase();
    return failure();
  }
  d.equalized = !beta.empty() || !alpha.empty();
  if (alpha.empty()) {
    replaceGroup(b, g.ops.back(), q.getResult(), so);
    return success();
  }
  Operation *last = g.ops.back();
  Value out = DequantizeOp::create(b, last->getLoc(),
                                   last->getResult(0).getType(), q.getResult(),
                                   b.getF64FloatAttr(so));
  SmallVector<double> inverse;
  for (double a : alpha)
    inverse.push_back(1.0 / a);
  last->getResult(0).replaceAllUsesWith(scaleChannels(out, inverse));
  return success();
}

LogicalResult Quantizer::rewriteAdd(linalg::GenericOp op, Decision &d) {
  std::string &why = d.reason;
  Group g;
  g.ops.push_back(op);
  fuseEpilogue(g, 0, false);
  double sa, sb;
  Value a = quantizedInput(op.getDpsInputs()[0], sa, why);
  if (!a)
    return failure();
  Value c = quantizedInput(op.getDpsInputs()[1], sb, why);
  if (!c)
    return failure();
  std::optional<double> s = scaleOf(g.result(), why);
  if (!s)
    return failure();
  b.setInsertionPoint(g.ops.back());
  auto q = QuantizedAddOp::create(b, op.getLoc(), asInt8(g.result().getType()),
                                  a, c, b.getF64FloatAttr(sa),
                                  b.getF64FloatAttr(sb), b.getF64FloatAttr(*s),
                                  g.relu ? b.getUnitAttr() : UnitAttr());
  if (failed(finish(g, q, sa, *s, d)))
    return failure();
  replaceGroup(b, g.ops.back(), q.getResult(), *s);
  return success();
}

LogicalResult Quantizer::rewriteMaxPool(linalg::PoolingNchwMaxOp op,
                                        Decision &d) {
  std::string &why = d.reason;
  if (llvm::any_of(i64s(op.getDilations()), [](int64_t v) { return v != 1; }))
    return why = "the accelerator has no dilated pooling", failure();
  if (!isFilled(op.getDpsInits()[0], true))
    return why = "the pooling does not start from -inf", failure();
  Value input = op.getInputs()[0];
  SmallVector<int64_t> padding = {0, 0, 0, 0};
  if (auto pad = input.getDefiningOp<tensor::PadOp>()) {
    FloatAttr f;
    Value pv = pad.getConstantPaddingValue();
    if (!pv || !matchPattern(pv, m_Constant(&f)) ||
        !f.getValue().isInfinity() || !f.getValue().isNegative() ||
        ShapedType::isDynamicShape(pad.getStaticLow()) ||
        ShapedType::isDynamicShape(pad.getStaticHigh()) ||
        pad.getStaticLow()[0] || pad.getStaticLow()[1] ||
        pad.getStaticHigh()[0] || pad.getStaticHigh()[1])
      return why = "only -inf padding of H and W maps to the accelerator's "
                   "max pooling",
             failure();
    padding = {pad.getStaticLow()[2], pad.getStaticLow()[3],
               pad.getStaticHigh()[2], pad.getStaticHigh()[3]};
    input = pad.getSource();
  }
  Group g;
  g.ops.push_back(op);
  double si;
  Value x = quantizedInput(input, si, why);
  if (!x)
    return failure();
  auto window = cast<RankedTensorType>(op.getInputs()[1].getType());
  b.setInsertionPoint(op);
  auto q = QuantizedMaxPool2DOp::create(
      b, op.getLoc(), asInt8(g.result().getType()), x,
      b.getDenseI64ArrayAttr(window.getShape()),
      b.getDenseI64ArrayAttr(i64s(op.getStrides())),
      b.getDenseI64ArrayAttr(padding));
  if (failed(finish(g, q, si, si, d)))
    return failure();
  // Max pooling keeps the scale.
  replaceGroup(b, op, q.getResult(), si);
  return success();
}

void Quantizer::run(std::vector<Decision> &decisions, int64_t &accel,
                    int64_t &onHost) {
  nameValues();
  SmallVector<Operation *> ops;
  for (Operation &op : func.getBody().front())
    ops.push_back(&op);
  for (Operation *op : ops) {
    if (fused.contains(op))
      continue;
    Decision d;
    d.op = op->getName().getStringRef().str();
    d.name = locName(op).value_or("");
    LogicalResult result = failure();
    if (!d.name.empty() && host.contains(d.name)) {
      reasons[op] = "kept float on the host by host= (its calibration found "
                    "int8 costs accuracy here)";
      continue;
    }
    if (auto conv = dyn_cast<ShiftAddConv2DOp>(op))
      result = rewriteConv(conv, d);
    else if (isa<ShiftAddMatmulOp, PermDiagMatmulOp>(op))
      result = rewriteMatmul(op, d);
    else if (auto dw = dyn_cast<linalg::DepthwiseConv2DNchwChwOp>(op))
      result = rewriteDepthwise(dw, d);
    else if (auto pool = dyn_cast<linalg::PoolingNchwMaxOp>(op))
      result = rewriteMaxPool(pool, d);
    else if (auto g = dyn_cast<linalg::GenericOp>(op); g && matchResidualAdd(g))
      result = rewriteAdd(g, d);
    else if (WeightMatch m = matchLayerWeight(op); m.use)
      result = rewriteDense(*m.use, d);
    else
      continue;
    if (succeeded(result)) {
      d.target = "accelerator";
      d.reason.clear();
      decisions.push_back(d);
      ++accel;
    } else {
      reasons[op] = d.reason;
    }
  }
  // Drop what the rewritten layers no longer need.
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op :
         llvm::make_early_inc_range(llvm::reverse(func.getBody().front())))
      if (isOpTriviallyDead(&op)) {
        op.erase();
        changed = true;
      }
  }
  // Every compute op left runs on the host: say why.
  for (Operation &op : func.getBody().front()) {
    bool compute =
        (isa<linalg::LinalgOp>(op) && !isa<linalg::FillOp>(op)) ||
        isa<ShiftAddConv2DOp, ShiftAddMatmulOp, PermDiagMatmulOp>(op);
    if (!compute)
      continue;
    Decision d;
    d.op = op.getName().getStringRef().str();
    d.name = locName(&op).value_or("");
    d.target = "host";
    if (auto it = reasons.find(&op); it != reasons.end())
      d.reason = it->second;
    else if (auto g = dyn_cast<linalg::GenericOp>(op))
      d.reason = genericReason(g);
    else if (isa<linalg::ConvolutionOpInterface>(op) &&
             !op.getName().getStringRef().contains("pooling"))
      d.reason = "no accelerator form for this convolution (its weight is "
                 "not a constant the compiler can read as a layer)";
    else
      d.reason = "no accelerator form for '" + d.op + "'";
    op.emitRemark() << "stays on the host: " << d.reason;
    decisions.push_back(d);
    ++onHost;
  }
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {

struct SDQuantizePass : mlir::sd::impl::SDQuantizePassBase<SDQuantizePass> {
  using SDQuantizePassBase::SDQuantizePassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stats.empty()) {
      module.emitError("--sd-quantize needs stats=FILE (calibration "
                       "statistics)");
      return signalPassFailure();
    }
    FailureOr<StatsTable> table = readStats(stats, module);
    if (failed(table))
      return signalPassFailure();
    llvm::StringSet<> keep;
    for (const std::string &name : host)
      keep.insert(name);
    std::vector<Decision> decisions;
    int64_t accel = 0, onHost = 0;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        Quantizer(func, *table, keep).run(decisions, accel, onHost);
    numAccelerator = accel;
    numHost = onHost;
    if (report.empty())
      return;
    llvm::json::Array ops;
    for (const Decision &d : decisions) {
      llvm::json::Object o{{"name", d.name}, {"op", d.op}, {"target", d.target}};
      if (!d.reason.empty())
        o["reason"] = d.reason;
      if (d.target == "accelerator") {
        o["input_scale"] = d.inputScale;
        o["output_scale"] = d.outputScale;
        if (d.equalized)
          o["channels_equalized"] = true;
      }
      ops.push_back(std::move(o));
    }
    llvm::json::Object root{{"accelerator", accel}, {"host", onHost},
                            {"ops", std::move(ops)}};
    std::string text, error;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
    if (failed(writeStagedOutput(report, text, error))) {
      module.emitError() << error;
      signalPassFailure();
    }
  }
};

} // namespace

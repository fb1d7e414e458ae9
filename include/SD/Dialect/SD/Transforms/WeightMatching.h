//===- WeightMatching.h - Find constant layer weights -----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Recognizes the layers whose weights the compression passes can rewrite, in
// the forms torch-mlir (FX and TorchScript paths) and tosa-to-linalg emit,
// and says in a sentence why a candidate layer cannot be used. One tracer
// follows a weight operand through any chain of layout-only ops back to its
// constant.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_WEIGHTMATCHING_H
#define SD_DIALECT_SD_TRANSFORMS_WEIGHTMATCHING_H

#include "SD/Dialect/SD/IR/SDAttributes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Operation.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::sd {

/// What a layer computes with its weight.
enum class LayerKind { Linear, Conv2D };

/// One layout-only op between a weight constant and its use, as the map
/// from an index of the op's result to an index of its source: each source
/// dimension reads a result dimension (`resultDim[s] >= 0`) or a fixed
/// position (`fixed[s]`), or, for reshapes, the source index is the result
/// index re-linearized in row-major order.
struct LayoutStep {
  bool reshape = false;
  SmallVector<int64_t, 4> resultDim, fixed;      // affine steps
  SmallVector<int64_t, 4> resultShape, sourceShape; // reshapes
};

/// Where a weight operand comes from: the constant and the layout-only ops
/// (transposes, broadcasts, reshapes, casts, copying generics) in between.
struct WeightTrace {
  /// Where the values come from: an arith.constant, or an
  /// ml_program.global_load(_const) of an immutable global with an initial
  /// value (torch-mlir's FX path with externalized parameters).
  Operation *constant = nullptr;
  /// The values as stored.
  Attribute value;
  /// Steps from the operand back to the constant, operand first.
  SmallVector<LayoutStep, 4> steps;
  /// The ops of the steps and the constant; erased once dead.
  SmallVector<Operation *> chain;
  /// Set when the operand does not come from a constant: why not.
  std::string whyNot;

  /// Index into the constant read by `operandIndex` of the weight operand.
  void constantIndex(ArrayRef<int64_t> operandIndex,
                     SmallVectorImpl<int64_t> &out) const;
  /// True when the constant element read may change with operand dimension
  /// `dim` (conservative through reshapes).
  bool dependsOn(int64_t dim, ArrayRef<int64_t> operandShape) const;
};

/// Follows a weight operand back through layout-only ops to its constant.
WeightTrace traceWeight(Value operand);

/// A layer whose weight is a usable constant.
struct WeightUse {
  Operation *op = nullptr; ///< The linalg op that consumes the weight.
  LayerKind kind = LayerKind::Linear;
  Value input; ///< Activations.
  Value init;  ///< The accumulator (DPS init).
  /// The constant as stored.
  ElementsAttr constant;
  /// How the operand reads the constant.
  WeightTrace trace;
  /// Operand dimension of every canonical weight dimension ([N, K] for
  /// linear, [F, C, R, S] for conv); operand dims not listed (a batch) read
  /// index 0.
  SmallVector<int64_t> operandDims;
  int64_t operandRank = 0;
  /// Canonical weight shape.
  SmallVector<int64_t> shape;
  ConvLayout layout = ConvLayout::nchw;
  SmallVector<int64_t> strides, dilations;
  /// Ops between the constant and `op` and the constant op; erased once
  /// dead.
  SmallVector<Operation *> chain;
  /// Resource blob name of the weight, when it has one.
  std::string resourceName;

  /// Number of weight values.
  int64_t numWeights() const;
  /// The weight values in canonical (row-major) order.
  FailureOr<std::vector<float>> canonicalValues() const;
};

/// The outcome of looking at one op.
struct WeightMatch {
  /// Set when the op is a layer with a usable constant weight.
  std::optional<WeightUse> use;
  /// Set when the op is a layer but its weight cannot be used: why not.
  std::string whyNot;
  /// The weight's resource blob name, when it has one (matched or not).
  std::string resourceName;
  /// True when the op is a layer at all (matched or not).
  bool isCandidate() const { return use.has_value() || !whyNot.empty(); }
};

/// Looks at `op`: a non-layer op gives an empty match.
WeightMatch matchLayerWeight(Operation *op);

/// Every layer op under `root`, in walk order. The passes collect first
/// (rewriting while walking would disturb the walk) and match each layer
/// again just before rewriting it, since rewriting one layer replaces values
/// and erases constants another layer's match may point to.
SmallVector<Operation *> collectLayers(Operation *root);

/// Replaces the layer `use.op` with `replacement` and erases the ops that fed
/// only its weight (transposes, broadcasts, their empty destinations, the
/// dense constant).
void replaceLayer(WeightUse &use, Value replacement);

/// The op's `loc("name")` (also inside a fused location), if it has one.
std::optional<std::string> locName(Operation *op);

/// The layer's name: its `loc("name")`, else the weight resource name, else
/// `layer<index>`.
std::string layerName(Operation *op, const std::string &resourceName,
                      int64_t index);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_WEIGHTMATCHING_H

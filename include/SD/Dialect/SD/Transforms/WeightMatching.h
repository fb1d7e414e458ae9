//===- WeightMatching.h - Find constant layer weights -----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Recognizes the layers whose weights the compression passes can rewrite, in
// the forms torch-mlir (FX and TorchScript paths) and tosa-to-linalg emit,
// and says in a sentence why a candidate layer cannot be used.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_WEIGHTMATCHING_H
#define SD_DIALECT_SD_TRANSFORMS_WEIGHTMATCHING_H

#include "SD/Dialect/SD/IR/SDAttributes.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Operation.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::sd {

/// What a layer computes with its weight.
enum class LayerKind { Linear, Conv2D };

/// A layer whose weight is a usable constant.
struct WeightUse {
  Operation *op = nullptr; ///< The linalg op that consumes the weight.
  LayerKind kind = LayerKind::Linear;
  Value input; ///< Activations.
  Value init;  ///< The accumulator (DPS init).
  /// The constant as stored, and the permutation that takes its dimensions
  /// to the canonical weight ([N, K] for linear, [F, C, R, S] for conv).
  ElementsAttr constant;
  SmallVector<int64_t> permutation;
  /// Canonical weight shape.
  SmallVector<int64_t> shape;
  ConvLayout layout = ConvLayout::nchw;
  SmallVector<int64_t> strides, dilations;
  /// Ops between the constant and `op` (transposes, broadcasts), and the
  /// constant op; erased once dead.
  SmallVector<Operation *> chain;
  /// Resource blob name of the weight, when it has one.
  std::string resourceName;

  /// Number of weight values.
  int64_t numWeights() const;
  /// The weight values in canonical (row-major, permuted) order.
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

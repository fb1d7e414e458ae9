//===- ProgramBuilder.h - Tiles layers into programs ------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The plain C++ back end the compiler calls: given a network of fully
// connected and convolution layers (shapes, SmartExchange codes and bases or
// raw int8 weights, bias and requantization parameters) and the hardware
// configuration, it lays tensors and weight blobs out in DRAM, tiles every
// layer to the global buffers and emits the instruction stream:
//
//  - output channels go to the PE slices in groups of up to dim_m; a group's
//    codes, index, B and biases form a weight tile, kept resident when the
//    whole layer fits the weight buffer and double-buffered otherwise (and
//    split by blocks when even one group does not fit);
//  - inputs are loaded in bands (whole samples, or rows of one sample with
//    their halo) that stay in the input buffer while every group uses them,
//    or the loop order is swapped when reloading inputs is cheaper;
//  - B stays in the rebuild engine: with at most two blocks per output the
//    rebuilt weights stay in the two engines across every position of a
//    band, otherwise the engines ping-pong between blocks;
//  - output positions are processed in chunks of half the accumulators and
//    half the output buffer, so requantization and stores overlap the next
//    chunk; the index skips zero Ce rows (the cycle model counts it).
//
// It also reports, per layer, the schedule it chose and the DRAM traffic it
// implies next to the compulsory minimum.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_PROGRAMBUILDER_H
#define SD_ACCEL_PROGRAMBUILDER_H

#include "SD/Compression/Codes.h"
#include "SD/Compression/Layout.h"
#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Json.h"
#include "SD/Accel/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

/// Which loop runs outside when a layer has several input bands and several
/// weight groups.
enum class LoopOrder {
  Auto,        ///< Whichever moves fewer DRAM bytes (bands first on ties).
  BandsOuter,  ///< Inputs loaded once, weights reloaded per band.
  GroupsOuter, ///< Weights loaded once, inputs reloaded per group.
};

/// The tiling of a convolution or fully connected layer, as --sd-schedule
/// records it on IR (attribute `sd.tiling`) and the builder obeys: it
/// checks that the recorded tiles and bands fit the configuration's buffers
/// and refuses the layer otherwise. Unset, the builder chooses by
/// planLayerTiling's rules.
struct TileChoice {
  int64_t channelsPerGroup = 0; ///< Output channels per weight tile; 0: unset.
  bool blocksSplit = false;     ///< A group's blocks split over tiles.
  int64_t bandOutputRows = 0;   ///< Output rows per input band; 0: samples.
  LoopOrder loopOrder = LoopOrder::Auto;

  bool isSet() const { return channelsPerGroup > 0; }
};

/// One layer for the builder. Input geometry comes from the input tensor:
/// [N, C, H, W] for a convolution, [N, ...] flattened to [N, K] for a fully
/// connected layer.
struct LayerSpec {
  std::string name;
  LayerKind kind = LayerKind::Conv;
  WeightFormat format = WeightFormat::SmartExchange;
  std::string input;  ///< Name of the input tensor.
  std::string output; ///< Name of the (new) output tensor.

  /// Output channels (N of a fully connected N x K weight).
  int64_t outChannels = 0;
  // Convolution window (ignored for fully connected layers). Padding below
  // and right defaults to the padding above and left.
  int64_t kernelH = 1, kernelW = 1;
  int64_t strideH = 1, strideW = 1;
  int64_t padTop = 0, padLeft = 0;
  int64_t padBottom = -1, padRight = -1;

  /// Block layout of the weight [K, C, R, S] (or [N, K]). An empty shape
  /// means the layer's own weight shape with the given blocks (se) or the
  /// canonical layout (dense).
  compression::BlockLayout layout;

  // SmartExchange weights.
  compression::ExponentRange range; ///< Exponent range of the codes.
  std::vector<int8_t> codes;        ///< [K, blocks, blockRows, 3] codes.
  std::vector<int8_t> basis;        ///< [K, blocks, 3, 3] int8 bq.
  int64_t fracBitsB = 0;            ///< f_B (recorded, informational).
  /// Packed code width; 0 takes ce_bits of the configuration.
  int64_t codeBits = 0;

  // Dense weights.
  std::vector<int8_t> weights; ///< [K, C * R * S] int8.

  // Permuted-diagonal weights (format permdiag, fully connected only; see
  // PermDiag.h). fracBitsB records f_W.
  int64_t blockSize = 0;          ///< p.
  std::vector<int32_t> pdOffsets; ///< [ceil(K/p), ceil(C/p)] offsets k.
  std::vector<int8_t> pdValues;   ///< [ceil(K/p), ceil(C/p), p] int8 q.

  std::vector<int64_t> bias; ///< [K] int64, or empty for zeros.
  int64_t multiplier = 1 << 14;
  int64_t shift = 1;
  bool relu = false;

  // Residual add (LayerKind::Add): the second operand and its multiplier
  // (`multiplier` is the first operand's). Pooling layers use the window
  // fields above; average pooling requantizes with multiplier and shift.
  std::string input2;
  int64_t multiplier2 = 0;

  /// The recorded tiling (convolutions and fully connected layers in the
  /// se or dense format); unset, the builder chooses.
  TileChoice tiling;

  /// Cascade (--sd-schedule's `sd.cascade`): the output stays on chip as
  /// the next layer's input band (written by `move` into the input buffer,
  /// beside this layer's own resident input) instead of crossing DRAM. The
  /// next layer must be a convolution or fully connected layer reading it,
  /// and nothing else may read it; both inputs must fit the input buffer.
  bool cascadeOutput = false;
};

/// What the builder decided for one layer.
struct LayerSchedule {
  std::string name;
  std::string format;    ///< "se", "dense" or "permdiag".
  std::string loopOrder; ///< "bands-outer" or "groups-outer".
  int64_t channelsPerGroup = 0;
  int64_t groups = 0;
  int64_t blockTiles = 0; ///< Weight tiles in all (> groups: split).
  bool weightsResident = false;
  bool blocksSplit = false;
  bool rebuiltOnce = false; ///< Rebuilt weights stay across positions.
  int64_t bands = 0;
  std::string bandKind;       ///< "batch" or "rows".
  int64_t bandOutputRows = 0; ///< Output rows per band ("rows" bands).
  int64_t bandSamples = 0;    ///< Samples per band ("batch" bands).
  bool inputResident = false;
  bool inputOnChip = false;  ///< Cascaded from the previous layer.
  bool outputOnChip = false; ///< Cascaded into the next layer.
  int64_t chunkPositions = 0;
  int64_t chunks = 0;
  int64_t instructions = 0;
  int64_t nonZeroRows = 0; ///< Non-zero Ce rows (se).
  int64_t totalRows = 0;   ///< Ce rows including zero ones.
  // DRAM bytes the schedule moves, and the compulsory minimum (inputs,
  // weight data and outputs each moved once; cascaded tensors stay on chip
  // and are not counted).
  int64_t dramInputBytes = 0, dramWeightBytes = 0, dramOutputBytes = 0;
  int64_t compulsoryBytes = 0;
  int64_t weightDataBytes = 0; ///< Bytes of every weight blob of the layer.

  JsonValue toJson() const;
};

/// Builds programs from layers.
class ProgramBuilder {
public:
  explicit ProgramBuilder(const HardwareConfig &config);

  /// Forces a loop order (for tests and experiments); the default is Auto.
  void setLoopOrder(LoopOrder order) { loopOrder_ = order; }

  /// Declares a network input of int8 `shape` ([N, C, H, W] or [N, K]).
  bool addInput(const std::string &name, std::vector<int64_t> shape,
                std::string &error);
  /// Appends a layer; its output tensor is created ([N, K, OH, OW] for a
  /// convolution, [N, K] for a fully connected layer). Checks the layer.
  bool addLayer(const LayerSpec &spec, std::string &error);
  /// Makes a tensor a network output (written back by sd-sim).
  bool markOutput(const std::string &name, std::string &error);

  /// Lays out DRAM, tiles every layer and emits the program; the result
  /// passes verifyProgram().
  bool build(Program &program, std::string &error);

  /// The schedules of the last build(), one per layer.
  const std::vector<LayerSchedule> &schedules() const { return schedules_; }

  /// The layer specs added so far (after defaults were filled in).
  const std::vector<LayerSpec> &layers() const { return layers_; }

private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    TensorRole role;
  };
  int64_t findTensor(const std::string &name) const;
  // Pooling and residual add (NetworkLayers.cpp).
  bool addNetworkLayer(LayerSpec spec, std::string &error);
  bool buildNetworkLayer(size_t index, Program &program, int64_t &dramEnd,
                         std::string &error);
  /// Input-buffer addresses of the cascaded tensors: per layer, where its
  /// input already is and where its output goes (-1: DRAM).
  bool placeCascades(std::vector<int64_t> &inOnChip,
                     std::vector<int64_t> &outOnChip, std::string &error) const;

  const HardwareConfig config_;
  LoopOrder loopOrder_ = LoopOrder::Auto;
  std::vector<Tensor> tensors_;
  std::vector<LayerSpec> layers_;
  std::vector<LayerSchedule> schedules_;
};

/// The tiling the builder chooses for `spec` (a convolution or fully
/// connected layer, se or dense) reading an int8 input of `inputShape` on
/// `config`: the most output channels per weight tile that fit half the
/// weight and index buffers (all of them resident when the layer fits), the
/// most output rows per input band that fit half the input buffer, and the
/// loop order moving fewer DRAM bytes. --sd-schedule records it on IR.
bool planLayerTiling(const HardwareConfig &config,
                     const std::vector<int64_t> &inputShape,
                     const LayerSpec &spec, TileChoice &choice,
                     std::string &error);

/// Empty when layer `spec` (reading an int8 tensor of `inShape` and
/// writing one of `outShape`) can keep its output on chip for `next`;
/// otherwise why not. The one rule of --sd-schedule (which records
/// cascades) and the builder (which checks them): both layers are
/// convolutions or fully connected layers of the se or dense format, a
/// fully connected `next` reads a [N, K] (or [N, K, 1, 1]) tensor, neither
/// has recorded row bands, and input and output fit the input buffer
/// together.
std::string cascadeRefusal(const HardwareConfig &config, const LayerSpec &spec,
                           const std::vector<int64_t> &inShape,
                           const std::vector<int64_t> &outShape,
                           const LayerSpec &next);

/// The loop order's name in schedules and on IR ("bands-outer",
/// "groups-outer"), and back; false for an unknown name.
const char *loopOrderName(LoopOrder order);
bool parseLoopOrder(const std::string &name, LoopOrder &order);

/// The schedules as a JSON report.
JsonValue scheduleReportJson(const std::vector<LayerSchedule> &schedules);

/// The int32 rebuilt weights Wi [K, C * R * S] of a SmartExchange layer
/// (shifts and adds of docs/QuantizedArithmetic.md), or its dense weights.
std::vector<int32_t> rebuiltWeights(const LayerSpec &spec);

/// Reconstructs the builder input of layer `index` of `program` from its
/// layer table entry and data segments.
bool extractLayerSpec(const Program &program, int64_t index, LayerSpec &spec,
                      std::string &error);

/// The dense baseline of a SmartExchange layer: Wq = round_half_away(Wi *
/// 127 / max|Wi|) int8 with one scale per layer, the bias and the
/// requantization multiplier rescaled to match. Dense layers are returned
/// unchanged.
bool toDenseLayer(const LayerSpec &spec, LayerSpec &dense, std::string &error);

/// The whole program rebuilt with every layer dense (the DianNao-like
/// baseline on the same array), with the same tensors.
bool buildDenseBaseline(const Program &program, const HardwareConfig &config,
                        Program &dense, std::string &error,
                        std::vector<LayerSchedule> *schedules = nullptr);

} // namespace sd::sdacc

#endif // SD_ACCEL_PROGRAMBUILDER_H

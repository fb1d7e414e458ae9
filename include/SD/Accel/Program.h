//===- Program.h - An accelerator program in memory -------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// What a program file holds: the tensors it reads and writes in DRAM, a
// layer table (metadata), the data segments (packed Ce codes, row index,
// bases, biases, raw dense weights) preloaded into DRAM, and the instruction
// stream. verifyProgram() checks everything that can be checked without
// running it; the simulator checks the rest as it executes and stops at the
// first violation.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_PROGRAM_H
#define SD_ACCEL_PROGRAM_H

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ISA.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

/// How a tensor is used by the program (ProgramFile.def).
enum class TensorRole : uint8_t {
#define SDACC_TENSOR_ROLE(Name, name, value, meaning) Name = value,
#include "SD/Accel/ProgramFile.def"
};
const char *tensorRoleName(TensorRole role);

/// The kind of a layer (ProgramFile.def). Pooling, residual add and
/// depthwise convolution are the whole-network layers of NetworkLayers.h.
enum class LayerKind : int64_t {
#define SDACC_LAYER_KIND(Name, name, value, meaning) Name = value,
#include "SD/Accel/ProgramFile.def"
};
/// The name of layer kind `kind` in the text form, or nullptr when `kind`
/// is not one.
const char *layerKindName(int64_t kind);
/// True for the whole-network layers of NetworkLayers.h (pooling, residual
/// add, depthwise convolution).
inline bool isNetworkLayerKind(int64_t kind) {
  return kind >= int64_t(LayerKind::MaxPool) &&
         kind <= int64_t(LayerKind::Depthwise);
}

/// An int8 activation tensor in DRAM (NCHW or [N, K], row-major).
struct TensorDecl {
  std::string name;
  TensorRole role = TensorRole::Internal;
  std::vector<int64_t> shape;
  uint64_t dramAddr = 0;

  int64_t numBytes() const;
};

/// One entry of the layer table (fields listed in ProgramFile.def).
struct LayerDecl {
  std::string name;
#define SDACC_LAYER_FIELD(Member, name, Type, meaning) int64_t Member = 0;
#include "SD/Accel/ProgramFile.def"

  LayerKind layerKind() const { return LayerKind(kind); }
  WeightFormat weightFormat() const { return WeightFormat(format); }
  /// Dense weights per output channel, L = c * r * s.
  int64_t rowLength() const { return c * r * s; }
  /// Rows of 3 holding real weights, ceil(L / 3).
  int64_t usedRows() const { return (rowLength() + 2) / 3; }
  /// Bytes of the row index of one (channel, block).
  int64_t indexBytesPerBlock() const { return (blockRows + 7) / 8; }
  /// Output positions, n * oh * ow.
  int64_t numPositions() const { return n * oh * ow; }
  /// Multiply-accumulates of the dense layer, n * oh * ow * k * L.
  int64_t denseMacs() const { return numPositions() * k * rowLength(); }
};

/// Accessors of the layer fields by position, for readers and writers.
/// What a layer field's integer denotes (the Type column of ProgramFile.def).
enum class LayerFieldType : uint8_t {
  Integer,
  LayerKind,
  WeightFormat,
  Tensor,       ///< An index into the tensors.
  SecondTensor, ///< A tensor index for an add layer, else 0.
};

struct LayerFieldDesc {
  const char *name;
  int64_t LayerDecl::*member;
  LayerFieldType type;
  const char *meaning;
};
const std::vector<LayerFieldDesc> &layerFieldTable();

/// Bytes preloaded into DRAM: one blob of one layer.
struct DataSegment {
  DmaKind kind = DmaKind::Codes; ///< Codes, Index, Basis, Bias or Weights.
  int64_t layer = 0;
  uint64_t dramAddr = 0;
  std::vector<uint8_t> bytes;
};

/// A whole program.
struct Program {
  uint64_t fingerprint = 0;
  std::vector<TensorDecl> tensors;
  std::vector<LayerDecl> layers;
  std::vector<DataSegment> segments;
  std::vector<Instruction> instructions;

  /// Index of tensor `name`, or -1.
  int64_t findTensor(const std::string &name) const;
  /// The segment of `kind` of layer `layer`, or nullptr.
  const DataSegment *findSegment(int64_t layer, DmaKind kind) const;
  /// One past the highest DRAM byte any tensor or segment uses.
  uint64_t dramExtent() const;

  bool operator==(const Program &other) const;
};

/// Empty when `program` is well formed for `config`: the fingerprint
/// matches, names and shapes are sane, DRAM regions do not overlap, every
/// layer's data segments have the sizes and values its table entry implies
/// (codes in range, no index bit on a padding row, B in [-127, 127]), and
/// every instruction passes verifyInstruction() and refers to a layer and
/// configuration in force. Otherwise the first problem, prefixed with where
/// it is (e.g. "instruction 12 (mac): ...").
std::string verifyProgram(const Program &program, const HardwareConfig &config);

/// Per layer, the DRAM bytes its schedule must move at least: its input
/// tensors, its data segments and its output tensor, each once, except the
/// tensors a cascade keeps on chip (the output of a layer that `move`s its
/// results, and the next layer's input it becomes). The builder's schedule
/// report and sd-sim's report both give it.
std::vector<int64_t> compulsoryDramBytes(const Program &program);

/// Empty when an input band holding samples [n0, n0 + samples) and input
/// rows [h0, h0 + rows) contains every input row that output positions
/// [pos0, pos0 + npos) of layer `l` read; else why not.
std::string checkBandCovers(const LayerDecl &l, int64_t n0, int64_t samples,
                            int64_t h0, int64_t rows, int64_t pos0,
                            int64_t npos);

/// Bytes of the packed code segment of one (channel, block) with `rows`
/// non-zero rows of 3 codes of `codeBits` bits.
inline int64_t codeSegmentBytes(int64_t rows, int64_t codeBits) {
  return (rows * 3 * codeBits + 7) / 8;
}

/// Reads code `i` (0-based) of a packed segment of `codeBits`-bit codes.
int readPackedCode(const uint8_t *segment, int64_t i, int64_t codeBits);
/// Unpacks the first `count` codes of a packed segment into `out` (the
/// segment must hold codeSegmentBytes of them: nothing past it is read).
void unpackCodes(const uint8_t *segment, int64_t count, int64_t codeBits,
                 int8_t *out);
/// Writes code `i` of a packed segment (which must start zeroed).
void writePackedCode(uint8_t *segment, int64_t i, int64_t codeBits, int code);

/// Number of bits set in `bytes` bytes from `p`.
int64_t popcount(const uint8_t *p, int64_t bytes);

} // namespace sd::sdacc

#endif // SD_ACCEL_PROGRAM_H

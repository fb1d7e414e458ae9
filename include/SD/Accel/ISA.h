//===- ISA.h - SmartDeal accelerator instructions ---------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The instruction set of the SmartDeal accelerator, generated from the one
// description in Instructions.def: opcodes, per-instruction field indices,
// the descriptor tables, and the encoder, decoder, verifier and text form
// that every user (program files, the simulator, the MLIR sdacc dialect)
// goes through. Plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_ISA_H
#define SD_ACCEL_ISA_H

#include "SD/Accel/HardwareConfig.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

/// Bytes per encoded instruction.
constexpr unsigned kInstructionBytes = 16;
/// Bits of the opcode at the bottom of every instruction.
constexpr unsigned kOpcodeBits = 6;

//===----------------------------------------------------------------------===//
// Enumerations from the description
//===----------------------------------------------------------------------===//

/// Execution units.
enum class Unit : uint8_t {
#define SDACC_UNIT(Name, name, meaning) Name,
#include "SD/Accel/Instructions.def"
};
constexpr unsigned kNumUnits = 0
#define SDACC_UNIT(Name, name, meaning) +1
#include "SD/Accel/Instructions.def"
    ;

/// Global buffers.
enum class Buffer : uint8_t {
#define SDACC_BUFFER(Name, name, meaning) Name,
#include "SD/Accel/Instructions.def"
};
constexpr unsigned kNumBuffers = 0
#define SDACC_BUFFER(Name, name, meaning) +1
#include "SD/Accel/Instructions.def"
    ;

/// What a DMA load moves.
enum class DmaKind : uint8_t {
#define SDACC_DMA_KIND(Name, name, Buffer, meaning) Name,
#include "SD/Accel/Instructions.def"
};
constexpr unsigned kNumDmaKinds = 0
#define SDACC_DMA_KIND(Name, name, Buffer, meaning) +1
#include "SD/Accel/Instructions.def"
    ;

/// Weight formats.
enum class WeightFormat : uint8_t {
#define SDACC_WEIGHT_FORMAT(Name, name, meaning) Name,
#include "SD/Accel/Instructions.def"
};
constexpr unsigned kNumWeightFormats = 0
#define SDACC_WEIGHT_FORMAT(Name, name, meaning) +1
#include "SD/Accel/Instructions.def"
    ;

/// Opcodes.
enum class Opcode : uint8_t {
#define SDACC_INSTR_BEGIN(Name, mnemonic, opcode, Unit, summary) Name = opcode,
#include "SD/Accel/Instructions.def"
};

/// Field indices, one enum per instruction: field::DmaLoad::Length etc.
namespace field {
#define SDACC_INSTR_BEGIN(Name, mnemonic, opcode, Unit, summary)               \
  namespace Name {                                                             \
  enum : unsigned {
#define SDACC_FIELD(Instr, Name, name, bits, Type, Check, meaning) Name,
#define SDACC_INSTR_END(Name)                                                  \
  NumFields                                                                    \
  }                                                                            \
  ;                                                                            \
  }
#include "SD/Accel/Instructions.def"
} // namespace field

/// Most fields of any instruction.
constexpr unsigned kMaxFields = std::max({0u
#define SDACC_INSTR_END(Name) , unsigned(field::Name::NumFields)
#include "SD/Accel/Instructions.def"
});

/// How a field's bits are read.
enum class FieldType : uint8_t {
  Unsigned,
  Signed,
  Bool,
  DmaKind,
  WeightFormat
};

/// Configuration-dependent range class of a field (see Instructions.def).
enum class FieldCheck : uint8_t {
  Any,
  Positive,
  Bank,
  Channels,
  InputAddr,
  OutputAddr,
  WeightAddr,
  IndexAddr,
  AccAddr,
  CodeBits,
  Shift,
  Multiplier,
};

//===----------------------------------------------------------------------===//
// Descriptor tables
//===----------------------------------------------------------------------===//

/// One field of one instruction.
struct FieldDesc {
  const char *name;
  unsigned bits;
  unsigned offset; ///< First bit inside the 128-bit instruction.
  FieldType type;
  FieldCheck check;
  const char *meaning;

  /// Smallest and largest value the width can hold.
  int64_t minValue() const;
  int64_t maxValue() const;
};

/// One instruction.
struct InstrDesc {
  Opcode opcode;
  const char *mnemonic;
  Unit unit;
  const char *summary;
  std::vector<FieldDesc> fields;
  /// Bits used, opcode included (the rest are reserved, zero).
  unsigned usedBits() const;
};

/// Every instruction, in the order of Instructions.def.
const std::vector<InstrDesc> &instructionTable();
/// The descriptor of `opcode`, or nullptr for an unknown opcode.
const InstrDesc *findInstruction(unsigned opcode);
/// The descriptor with mnemonic `mnemonic`, or nullptr.
const InstrDesc *findInstruction(const std::string &mnemonic);

const char *unitName(Unit unit);
const char *unitMeaning(Unit unit);
const char *bufferName(Buffer buffer);
const char *bufferMeaning(Buffer buffer);
const char *dmaKindName(DmaKind kind);
const char *dmaKindMeaning(DmaKind kind);
/// The global buffer a DMA load of `kind` writes.
Buffer dmaKindBuffer(DmaKind kind);
const char *weightFormatName(WeightFormat format);
const char *weightFormatMeaning(WeightFormat format);
const char *fieldTypeName(FieldType type);
/// The range rule of `check` in words, for the specification.
const char *fieldCheckRule(FieldCheck check);

/// Bytes of global buffer `buffer` in `config`.
int64_t bufferBytes(const HardwareConfig &config, Buffer buffer);

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

/// A decoded instruction: its opcode and one value per field of its
/// descriptor, in order (unused slots are zero).
struct Instruction {
  Opcode opcode = Opcode::Sync;
  std::array<int64_t, kMaxFields> fields{};

  Instruction() = default;
  /// An instruction with `values` for its fields in order.
  Instruction(Opcode opcode, std::initializer_list<int64_t> values);

  int64_t operator[](unsigned index) const { return fields[index]; }
  int64_t &operator[](unsigned index) { return fields[index]; }
  const InstrDesc &desc() const;

  bool operator==(const Instruction &other) const {
    return opcode == other.opcode && fields == other.fields;
  }
  bool operator!=(const Instruction &other) const { return !(*this == other); }
};

/// Encodes `inst` into 16 bytes. Fails (with a message) when a field does not
/// fit its width; range rules against a configuration are verify()'s.
bool encode(const Instruction &inst, uint8_t out[kInstructionBytes],
            std::string &error);

/// Decodes 16 bytes: rejects unknown opcodes, non-zero reserved bits and
/// out-of-range enumerations. Does not check against a configuration.
bool decode(const uint8_t in[kInstructionBytes], Instruction &inst,
            std::string &error);

/// Empty when every field of `inst` fits its width and satisfies its range
/// class and the instruction's own rules against `config`; otherwise a
/// sentence naming the instruction, the field and the limit.
std::string verifyInstruction(const Instruction &inst,
                              const HardwareConfig &config);

/// The text form: `mnemonic field=value ...` (addresses in hexadecimal,
/// enumerations by name).
std::string printInstruction(const Instruction &inst);

/// Parses the text form (every field required, once, any order).
bool parseInstruction(const std::string &text, Instruction &inst,
                      std::string &error);

} // namespace sd::sdacc

#endif // SD_ACCEL_ISA_H

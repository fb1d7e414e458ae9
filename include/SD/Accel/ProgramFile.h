//===- ProgramFile.h - Program files, binary and text -----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The two forms of a program file. The binary form (ProgramFile.def: magic,
// version, header, section table, sections for the tensors, the layer table,
// the instructions and each data blob, CRC-32 trailer) is what sd-sim runs;
// the text form is the same content, readable and diffable. Both read back
// to the same Program, so binary -> text -> binary reproduces every byte.
//
// Readers never trust the input: every length, offset and count is checked
// before use, and a damaged file gives one sentence (truncated, bad magic,
// unknown version, checksum mismatch, ...) instead of a crash.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_PROGRAMFILE_H
#define SD_ACCEL_PROGRAMFILE_H

#include "SD/Accel/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

/// The eight magic bytes at the start of a binary program file.
constexpr char kProgramMagic[9] = "SDACCPRG";
/// The only binary version this code reads and writes.
constexpr uint32_t kProgramVersion = 1;
/// The first line of a text program file.
constexpr const char *kProgramTextMagic = "sdacc-program";

/// Empty when a program may declare a tensor of `shape`: rank 1 to 4, every
/// dimension in [1, 2^31], at most 4 GiB; else the problem. Both readers
/// apply it as they read (before anything sized by it is used), and
/// verifyProgram() again for programs built in memory.
std::string checkTensorShape(const std::vector<int64_t> &shape);

/// CRC-32 (IEEE 802.3, the zlib polynomial) of `size` bytes.
uint32_t crc32(const uint8_t *data, size_t size);

/// Serializes `program` in the binary form. Fails only if an instruction
/// field does not fit its width.
bool writeProgramBinary(const Program &program, std::vector<uint8_t> &out,
                        std::string &error);

/// Parses the binary form. Structure only: call verifyProgram() to check the
/// program against a configuration.
bool readProgramBinary(const std::vector<uint8_t> &bytes, Program &program,
                       std::string &error);

/// The text form.
std::string writeProgramText(const Program &program);

/// Parses the text form; errors name the line.
bool readProgramText(const std::string &text, Program &program,
                     std::string &error);

/// Reads either form from `path` (the binary magic decides).
bool readProgramFile(const std::string &path, Program &program,
                     std::string &error);

/// Writes `path` in the binary form, or the text form when `text` is set.
/// Writes a temporary file and renames it, so a failure leaves no partial
/// file behind.
bool writeProgramFile(const std::string &path, const Program &program,
                      bool text, std::string &error);

} // namespace sd::sdacc

#endif // SD_ACCEL_PROGRAMFILE_H

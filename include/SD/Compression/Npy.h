//===- Npy.h - Minimal NumPy .npy reader and writer -------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Enough of the .npy format (versions 1-3, little-endian, C order) for the
// decomposition test driver and benchmarks to exchange arrays with NumPy
// without a Python dependency in C++.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_NPY_H
#define SD_COMPRESSION_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace sd::compression {

/// A loaded array: raw little-endian bytes plus dtype descriptor and shape.
struct NpyArray {
  std::string dtype; ///< NumPy descr without byte order, e.g. "f4", "i1".
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const;
  /// The data converted to float or double (f4, f8, i1, i4, i8 sources).
  std::vector<float> toFloat() const;
  std::vector<double> toDouble() const;
};

/// Parse the `size` bytes of a whole .npy file. Every size the header
/// declares is checked against `size` before anything is allocated; the
/// data must fill the rest of the file exactly. On failure returns false
/// and sets `error` (without a file name).
bool parseNpy(const char *bytes, size_t size, NpyArray &array,
              std::string &error);

/// Read `path`; on failure returns false and sets `error` (naming `path`).
bool readNpy(const std::string &path, NpyArray &array, std::string &error);

/// Write `count` elements at `data` with NumPy descr `dtype` ("f4", "f8",
/// "i1", "u1", "i4", "i8") and `shape`. Returns false on I/O failure.
bool writeNpy(const std::string &path, const std::string &dtype,
              const std::vector<int64_t> &shape, const void *data);

} // namespace sd::compression

#endif // SD_COMPRESSION_NPY_H

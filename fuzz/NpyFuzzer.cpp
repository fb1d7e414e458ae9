//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader ------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as a whole .npy file: parseNpy either fails with a message or
// returns an array whose data matches its dtype and shape, and converting
// it reads only those bytes.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sd::compression::NpyArray array;
  std::string error;
  if (!sd::compression::parseNpy(reinterpret_cast<const char *>(data), size,
                                 array, error)) {
    if (error.empty())
      std::abort(); // every failure says why
    return 0;
  }
  int64_t bytes = array.dtype[1] - '0';
  if (int64_t(array.data.size()) != array.numElements() * bytes)
    std::abort();
  if (array.toDouble().size() != size_t(array.numElements()))
    std::abort();
  return 0;
}

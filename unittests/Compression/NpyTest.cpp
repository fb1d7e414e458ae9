//===- NpyTest.cpp - Tests of the minimal .npy reader and writer ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <fstream>

using namespace sd::compression;

namespace {

std::string tempPath(const char *name) {
  return ::testing::TempDir() + "/" + name;
}

} // namespace

TEST(Npy, RoundTripsFloatAndIntegerArrays) {
  const std::string path = tempPath("sd-npy-f4.npy");
  std::vector<float> values = {1.5f, -2.0f, 0.25f, 3.0f, 0.0f, -0.125f};
  ASSERT_TRUE(writeNpy(path, "f4", {2, 3}, values.data()));
  NpyArray array;
  std::string error;
  ASSERT_TRUE(readNpy(path, array, error)) << error;
  EXPECT_EQ(array.dtype, "f4");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.toFloat(), values);

  const std::string codes = tempPath("sd-npy-i1.npy");
  std::vector<int8_t> small = {-14, 0, 7, 1};
  ASSERT_TRUE(writeNpy(codes, "i1", {4}, small.data()));
  ASSERT_TRUE(readNpy(codes, array, error)) << error;
  EXPECT_EQ(array.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(array.toDouble(), (std::vector<double>{-14, 0, 7, 1}));
  std::remove(path.c_str());
  std::remove(codes.c_str());
}

TEST(Npy, HeaderIsAlignedAndParsesAsNumPyWritesIt) {
  const std::string path = tempPath("sd-npy-f8.npy");
  std::vector<double> values = {0.5, 2.0};
  ASSERT_TRUE(writeNpy(path, "f8", {2}, values.data()));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  // Magic, version 1.0, header padded so the data starts on 64 bytes.
  EXPECT_EQ(bytes.compare(0, 6, "\x93NUMPY"), 0);
  size_t headerLength = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  EXPECT_EQ((10 + headerLength) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (2,)"), std::string::npos);
  EXPECT_EQ(bytes.size(), 10 + headerLength + 16);
  std::remove(path.c_str());
}

TEST(Npy, RejectsWhatItCannotRead) {
  NpyArray array;
  std::string error;
  EXPECT_FALSE(readNpy(tempPath("sd-npy-missing.npy"), array, error));
  EXPECT_FALSE(error.empty());
  const std::string path = tempPath("sd-npy-bad.npy");
  {
    std::ofstream out(path, std::ios::binary);
    out << "not an npy file";
  }
  EXPECT_FALSE(readNpy(path, array, error));
  std::remove(path.c_str());
}

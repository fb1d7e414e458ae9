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

/// A version-1 .npy file with header dict `dict` followed by `data`.
std::string npyBytes(const std::string &dict, const std::string &data) {
  std::string header = dict + "\n";
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  return out + header + data;
}

/// parseNpy's error for `bytes`, or "ok".
std::string parseError(const std::string &bytes) {
  NpyArray array;
  std::string error;
  return parseNpy(bytes.data(), bytes.size(), array, error) ? "ok" : error;
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

TEST(Npy, ChecksDeclaredSizesBeforeAllocating) {
  const std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  EXPECT_EQ(parseError(npyBytes(f4 + "(2,), }", std::string(8, '\0'))), "ok");
  EXPECT_EQ(parseError(npyBytes(f4 + "(), }", std::string(4, '\0'))), "ok");
  EXPECT_EQ(parseError(npyBytes(f4 + "(0, 5), }", "")), "ok");
  // 10^14 x 16 values: refused by the file's size, not by an allocation.
  EXPECT_EQ(parseError(npyBytes(f4 + "(100000000000000, 16), }", "abcd")),
            "truncated data: the shape (100000000000000, 16) needs more "
            "than the 4 bytes in the file");
  // A product that overflows int64 is refused the same way.
  EXPECT_EQ(
      parseError(npyBytes(f4 + "(4294967296, 4294967296, 4294967296), }", "")),
      "truncated data: the shape (4294967296, 4294967296, 4294967296) "
      "needs more than the 0 bytes in the file");
  EXPECT_EQ(parseError(npyBytes(f4 + "(3,), }", std::string(8, '\0'))),
            "truncated data: the shape (3,) needs more than the 8 bytes in "
            "the file");
  EXPECT_EQ(parseError(npyBytes(f4 + "(1,), }", std::string(8, '\0'))),
            "unexpected data: the shape needs 4 bytes, the file has 8");
  // The header length itself is checked against the file.
  std::string longHeader = npyBytes(f4 + "(1,), }", "");
  longHeader[8] = char(0xFF);
  longHeader[9] = char(0x7F);
  EXPECT_EQ(parseError(longHeader)
                .rfind("truncated header: it declares 32767 "
                       "bytes",
                       0),
            0u);
}

TEST(Npy, RejectsMalformedHeaders) {
  const std::string head = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  EXPECT_EQ(parseError(npyBytes(head + "(-1,), }", "")),
            "bad shape (-1,) (expected a tuple of non-negative integers)");
  EXPECT_EQ(parseError(npyBytes(head + "(1,,2), }", "")),
            "bad shape (1,,2) (expected a tuple of non-negative integers)");
  EXPECT_EQ(parseError(npyBytes(head + "[2], }", "")),
            "bad shape [2] (expected a tuple of non-negative integers)");
  EXPECT_EQ(
      parseError(npyBytes(head + "(99999999999999999999,), }", "")),
      "bad shape (99999999999999999999,) (expected a tuple of non-negative "
      "integers)");
  EXPECT_EQ(parseError(npyBytes("{'descr': '<f3', 'fortran_order': False, "
                                "'shape': (1,), }",
                                "abc")),
            "unsupported dtype <f3 (f4, f8, i1, u1, i4, i8 are read)");
  EXPECT_EQ(parseError(npyBytes("{'descr': '>f4', 'fortran_order': False, "
                                "'shape': (1,), }",
                                "abcd")),
            "big-endian data is not supported");
  EXPECT_EQ(parseError("\x93NUMPY\x04"), "not a .npy file");
  EXPECT_EQ(parseError(std::string("\x93NUMPY\x04\0\0\0", 10)),
            "unsupported .npy version 4");
}

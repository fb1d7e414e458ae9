//===- Npy.cpp - Minimal NumPy .npy reader and writer ---------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace sd::compression {

static int64_t dtypeSize(const std::string &dtype) {
  if (dtype.size() != 2)
    return 0;
  return dtype[1] - '0';
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

template <typename To, typename From>
static void convertAll(const char *p, std::vector<To> &out) {
  for (size_t i = 0; i < out.size(); ++i) {
    From v;
    std::memcpy(&v, p + sizeof(From) * i, sizeof(From));
    out[i] = To(v);
  }
}

template <typename To> static std::vector<To> convert(const NpyArray &array) {
  std::vector<To> out(static_cast<size_t>(array.numElements()));
  const char *p = array.data.data();
  if (array.dtype == "f4")
    convertAll<To, float>(p, out);
  else if (array.dtype == "f8")
    convertAll<To, double>(p, out);
  else if (array.dtype == "i1")
    convertAll<To, int8_t>(p, out);
  else if (array.dtype == "u1")
    convertAll<To, uint8_t>(p, out);
  else if (array.dtype == "i4")
    convertAll<To, int32_t>(p, out);
  else if (array.dtype == "i8")
    convertAll<To, int64_t>(p, out);
  return out;
}

std::vector<float> NpyArray::toFloat() const { return convert<float>(*this); }
std::vector<double> NpyArray::toDouble() const {
  return convert<double>(*this);
}

/// The value of `key` in the header dict, as raw text up to the next
/// top-level comma or closing brace.
static std::string headerField(const std::string &header,
                               const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return {};
  at = header.find(':', at);
  if (at == std::string::npos)
    return {};
  size_t end = at + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char ch = header[end];
    if (ch == '(')
      ++depth;
    else if (ch == ')')
      --depth;
    else if ((ch == ',' || ch == '}') && depth == 0)
      break;
  }
  std::string value = header.substr(at + 1, end - at - 1);
  size_t b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
}

bool readNpy(const std::string &path, NpyArray &array, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    error = path + " is not a .npy file";
    return false;
  }
  uint32_t headerLength = 0;
  if (magic[6] == 1) {
    unsigned char len[2];
    in.read(reinterpret_cast<char *>(len), 2);
    headerLength = len[0] | (uint32_t(len[1]) << 8);
  } else {
    unsigned char len[4];
    in.read(reinterpret_cast<char *>(len), 4);
    headerLength = len[0] | (uint32_t(len[1]) << 8) | (uint32_t(len[2]) << 16) |
                   (uint32_t(len[3]) << 24);
  }
  std::string header(headerLength, '\0');
  if (!in.read(header.data(), headerLength)) {
    error = path + ": truncated header";
    return false;
  }
  std::string descr = headerField(header, "descr");
  std::string order = headerField(header, "fortran_order");
  std::string shape = headerField(header, "shape");
  if (descr.size() < 4 || order != "False") {
    error = path + ": unsupported header " + header;
    return false;
  }
  descr = descr.substr(1, descr.size() - 2); // strip quotes
  if (descr[0] == '>') {
    error = path + ": big-endian data is not supported";
    return false;
  }
  array.dtype = descr.substr(1);
  if (dtypeSize(array.dtype) <= 0) {
    error = path + ": unsupported dtype " + descr;
    return false;
  }
  array.shape.clear();
  std::string dims = shape.substr(1, shape.size() - 2);
  std::stringstream ss(dims);
  for (std::string item; std::getline(ss, item, ',');)
    if (item.find_first_not_of(" ") != std::string::npos)
      array.shape.push_back(std::stoll(item));
  array.data.resize(size_t(array.numElements() * dtypeSize(array.dtype)));
  if (!in.read(array.data.data(), std::streamsize(array.data.size()))) {
    error = path + ": truncated data";
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const std::string &dtype,
              const std::vector<int64_t> &shape, const void *data) {
  int64_t size = dtypeSize(dtype);
  if (size <= 0)
    return false;
  std::string header = "{'descr': '" +
                       std::string(dtype[0] == 'i' && size == 1 ? "|" : "<") +
                       dtype + "', 'fortran_order': False, 'shape': (";
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    header += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size())
      header += ",";
    if (i + 1 < shape.size())
      header += " ";
    count *= shape[i];
  }
  header += "), }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded to 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return false;
  out.write("\x93NUMPY\x01\x00", 8);
  unsigned char len[2] = {uint8_t(header.size() & 0xFF),
                          uint8_t(header.size() >> 8)};
  out.write(reinterpret_cast<const char *>(len), 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(static_cast<const char *>(data), std::streamsize(count * size));
  return bool(out);
}

} // namespace sd::compression

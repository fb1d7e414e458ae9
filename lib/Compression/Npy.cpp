//===- Npy.cpp - Minimal NumPy .npy reader and writer ---------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sd::compression {

/// Bytes per element of a dtype this reader converts, else 0.
static int64_t dtypeSize(const std::string &dtype) {
  for (const char *known : {"f4", "f8", "i1", "u1", "i4", "i8"})
    if (dtype == known)
      return dtype[1] - '0';
  return 0;
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

/// Parses "(d0, d1, ...)" (a trailing comma allowed, "()" a scalar).
static bool parseShape(const std::string &text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    return false;
  std::string item;
  std::stringstream ss(text.substr(1, text.size() - 2));
  bool last = false;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) {
      // Only "(n,)" may leave an empty item, and only at the end.
      if (last || shape.empty())
        return false;
      last = true;
      continue;
    }
    if (last)
      return false;
    item = item.substr(b, e - b + 1);
    // Up to 18 digits: every dimension fits int64 before the size check.
    if (item.size() > 18 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return false;
    shape.push_back(std::stoll(item));
  }
  return true;
}

static uint32_t littleEndian(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}

bool parseNpy(const char *bytes, size_t size, NpyArray &array,
              std::string &error) {
  const auto *p = reinterpret_cast<const unsigned char *>(bytes);
  if (size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0) {
    error = "not a .npy file";
    return false;
  }
  unsigned version = p[6];
  if (version < 1 || version > 3) {
    error = "unsupported .npy version " + std::to_string(version);
    return false;
  }
  size_t lengthBytes = version == 1 ? 2 : 4;
  if (size < 8 + lengthBytes) {
    error = "truncated header";
    return false;
  }
  size_t headerLength = littleEndian(p + 8, int(lengthBytes));
  size_t dataBegin = 8 + lengthBytes + headerLength;
  // Compared before anything is allocated: the header declares its length.
  if (headerLength > size - 8 - lengthBytes) {
    error = "truncated header: it declares " + std::to_string(headerLength) +
            " bytes, the file has " + std::to_string(size - 8 - lengthBytes);
    return false;
  }
  std::string header(bytes + 8 + lengthBytes, headerLength);
  std::string descr = headerField(header, "descr");
  std::string order = headerField(header, "fortran_order");
  std::string shape = headerField(header, "shape");
  if (descr.size() < 4 || order != "False" || descr.front() != descr.back() ||
      (descr.front() != '\'' && descr.front() != '"')) {
    error = "unsupported header " + header.substr(0, 200);
    return false;
  }
  descr = descr.substr(1, descr.size() - 2); // strip quotes
  if (descr[0] == '>') {
    error = "big-endian data is not supported";
    return false;
  }
  NpyArray result;
  result.dtype = descr.substr(1);
  int64_t elementBytes = dtypeSize(result.dtype);
  if ((descr[0] != '<' && descr[0] != '|' && descr[0] != '=') ||
      elementBytes <= 0) {
    error = "unsupported dtype " + descr.substr(0, 16) +
            " (f4, f8, i1, u1, i4, i8 are read)";
    return false;
  }
  if (!parseShape(shape, result.shape)) {
    error = "bad shape " + shape.substr(0, 64) +
            " (expected a tuple of non-negative integers)";
    return false;
  }
  // The declared size, checked against the bytes present before the data
  // is allocated (a header may declare any shape).
  size_t available = size - dataBegin;
  int64_t count = 1;
  for (int64_t d : result.shape) {
    if (d != 0 && count > int64_t(available) / elementBytes / d) {
      error = "truncated data: the shape " + shape.substr(0, 64) +
              " needs more than the " + std::to_string(available) +
              " bytes in the file";
      return false;
    }
    count *= d;
  }
  // The loop above proved needed <= available.
  size_t needed = size_t(count * elementBytes);
  if (needed != available) {
    error = "unexpected data: the shape needs " + std::to_string(needed) +
            " bytes, the file has " + std::to_string(available);
    return false;
  }
  result.data.assign(bytes + dataBegin, bytes + size);
  array = std::move(result);
  return true;
}

bool readNpy(const std::string &path, NpyArray &array, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "cannot read " + path;
    return false;
  }
  if (!parseNpy(bytes.data(), bytes.size(), array, error)) {
    error = path + ": " + error;
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

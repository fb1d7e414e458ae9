//===- Json.h - Minimal JSON values, parser and writer ----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Just enough JSON for the hardware configuration, the network specs of the
// test driver and the simulator's reports, without a dependency on LLVM
// Support (the accelerator libraries are plain C++). Objects keep their keys
// in insertion order so that written reports are deterministic and read in
// the order they were built. No exceptions: parse errors are returned.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_JSON_H
#define SD_ACCEL_JSON_H

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sd::sdacc {

/// A JSON value: null, bool, number, string, array or object.
class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  JsonValue() = default;
  static JsonValue boolean(bool value);
  static JsonValue number(double value);
  /// A number written without a fraction (exact up to 2^53; larger integers
  /// are written in full too, since the writer keeps the int64 value).
  static JsonValue integer(int64_t value);
  static JsonValue string(std::string value);
  static JsonValue array();
  static JsonValue object();

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  /// True when the number is integral and fits int64; sets `value`.
  bool asInteger(int64_t &value) const;
  const std::string &asString() const { return string_; }

  /// Array elements (empty unless an array).
  const std::vector<JsonValue> &elements() const { return elements_; }
  /// Object members in insertion order (empty unless an object).
  const std::vector<std::pair<std::string, JsonValue>> &members() const {
    return members_;
  }
  /// Member `key` of an object, or nullptr.
  const JsonValue *find(const std::string &key) const;

  /// Appends to an array.
  JsonValue &push(JsonValue value);
  /// Sets (or replaces) member `key` of an object; returns it.
  JsonValue &set(const std::string &key, JsonValue value);

  /// Writes the value; objects and arrays of objects over several lines with
  /// `indent` spaces per level, arrays of scalars on one line.
  std::string write(int indent = 2) const;

private:
  void writeTo(std::string &out, int indent, int depth) const;

  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool isInteger_ = false;
  double number_ = 0.0;
  int64_t integer_ = 0;
  std::string string_;
  std::vector<JsonValue> elements_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

/// Parses `text`; on failure returns false and sets `error` (with the line).
bool parseJson(const std::string &text, JsonValue &value, std::string &error);

/// Escapes `text` as the contents of a JSON string (without quotes).
std::string jsonEscape(const std::string &text);

/// Formats a double the way reports write it: integers in full, other
/// values with twelve significant digits.
std::string formatDouble(double value);

} // namespace sd::sdacc

#endif // SD_ACCEL_JSON_H

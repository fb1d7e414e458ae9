//===- Json.cpp - Minimal JSON values, parser and writer ------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/Json.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sd::sdacc {

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

JsonValue JsonValue::boolean(bool value) {
  JsonValue v;
  v.kind_ = Kind::Bool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::number(double value) {
  JsonValue v;
  v.kind_ = Kind::Number;
  v.number_ = value;
  return v;
}

JsonValue JsonValue::integer(int64_t value) {
  JsonValue v;
  v.kind_ = Kind::Number;
  v.number_ = double(value);
  v.integer_ = value;
  v.isInteger_ = true;
  return v;
}

JsonValue JsonValue::string(std::string value) {
  JsonValue v;
  v.kind_ = Kind::String;
  v.string_ = std::move(value);
  return v;
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.kind_ = Kind::Array;
  return v;
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.kind_ = Kind::Object;
  return v;
}

bool JsonValue::asInteger(int64_t &value) const {
  if (kind_ != Kind::Number)
    return false;
  if (isInteger_) {
    value = integer_;
    return true;
  }
  // 2^63 is exactly representable; anything at or above it does not fit.
  if (!std::isfinite(number_) || number_ != std::floor(number_) ||
      number_ >= 9223372036854775808.0 || number_ < -9223372036854775808.0)
    return false;
  value = int64_t(number_);
  return true;
}

const JsonValue *JsonValue::find(const std::string &key) const {
  for (const auto &member : members_)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

JsonValue &JsonValue::push(JsonValue value) {
  elements_.push_back(std::move(value));
  return elements_.back();
}

JsonValue &JsonValue::set(const std::string &key, JsonValue value) {
  for (auto &member : members_)
    if (member.first == key) {
      member.second = std::move(value);
      return member.second;
    }
  members_.emplace_back(key, std::move(value));
  return members_.back().second;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

std::string jsonEscape(const std::string &text) {
  std::string out;
  for (unsigned char ch : text) {
    switch (ch) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (ch < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
        out += buf;
      } else {
        out += char(ch);
      }
    }
  }
  return out;
}

std::string formatDouble(double value) {
  if (!std::isfinite(value))
    return "null";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", value);
    // Normalize "-0" so reports do not depend on the sign of zero.
    return std::strcmp(buf, "-0") == 0 ? "0" : buf;
  }
  // Twelve significant digits: reports stay readable (no 0.30000000000000004)
  // and configuration values, short decimals, read back unchanged.
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.12g", value);
  return buf;
}

static bool isScalar(const JsonValue &value) {
  return !value.isArray() && !value.isObject();
}

void JsonValue::writeTo(std::string &out, int indent, int depth) const {
  std::string pad(size_t(indent * (depth + 1)), ' ');
  std::string closePad(size_t(indent * depth), ' ');
  switch (kind_) {
  case Kind::Null:
    out += "null";
    return;
  case Kind::Bool:
    out += bool_ ? "true" : "false";
    return;
  case Kind::Number:
    out += isInteger_ ? std::to_string(integer_) : formatDouble(number_);
    return;
  case Kind::String:
    out += '"';
    out += jsonEscape(string_);
    out += '"';
    return;
  case Kind::Array: {
    bool flat = true;
    for (const JsonValue &e : elements_)
      flat = flat && isScalar(e);
    if (elements_.empty()) {
      out += "[]";
      return;
    }
    out += flat ? "[" : "[\n";
    for (size_t i = 0; i < elements_.size(); ++i) {
      if (!flat)
        out += pad;
      elements_[i].writeTo(out, indent, depth + 1);
      if (i + 1 < elements_.size())
        out += flat ? ", " : ",\n";
    }
    out += flat ? "]" : "\n" + closePad + "]";
    return;
  }
  case Kind::Object:
    if (members_.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (size_t i = 0; i < members_.size(); ++i) {
      out += pad + "\"" + jsonEscape(members_[i].first) + "\": ";
      members_[i].second.writeTo(out, indent, depth + 1);
      if (i + 1 < members_.size())
        out += ",";
      out += "\n";
    }
    out += closePad + "}";
    return;
  }
}

std::string JsonValue::write(int indent) const {
  std::string out;
  writeTo(out, indent, 0);
  out += "\n";
  return out;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {
/// Recursive-descent parser; nesting is bounded so hostile input cannot
/// exhaust the stack.
class Parser {
public:
  explicit Parser(const std::string &text) : text(text) {}

  bool parse(JsonValue &value, std::string &error) {
    skipSpace();
    if (!parseValue(value, 0))
      return fail(error);
    skipSpace();
    if (pos != text.size()) {
      message = "unexpected text after the JSON value";
      return fail(error);
    }
    return true;
  }

private:
  bool fail(std::string &error) {
    int line = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i)
      line += text[i] == '\n';
    error = "line " + std::to_string(line) + ": " + message;
    return false;
  }

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n' ||
                                 text[pos] == '\t' || text[pos] == '\r'))
      ++pos;
  }

  bool expect(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0) {
      message = std::string("expected '") + word + "'";
      return false;
    }
    pos += n;
    return true;
  }

  bool parseValue(JsonValue &value, int depth) {
    if (depth > 64) {
      message = "nesting deeper than 64 levels";
      return false;
    }
    if (pos >= text.size()) {
      message = "unexpected end of input";
      return false;
    }
    char ch = text[pos];
    if (ch == '{')
      return parseObject(value, depth);
    if (ch == '[')
      return parseArray(value, depth);
    if (ch == '"') {
      std::string s;
      if (!parseString(s))
        return false;
      value = JsonValue::string(std::move(s));
      return true;
    }
    if (ch == 't') {
      value = JsonValue::boolean(true);
      return expect("true");
    }
    if (ch == 'f') {
      value = JsonValue::boolean(false);
      return expect("false");
    }
    if (ch == 'n') {
      value = JsonValue();
      return expect("null");
    }
    return parseNumber(value);
  }

  bool parseNumber(JsonValue &value) {
    size_t start = pos;
    if (pos < text.size() && text[pos] == '-')
      ++pos;
    bool integral = true;
    size_t digits = pos;
    while (pos < text.size() && std::isdigit((unsigned char)text[pos]))
      ++pos;
    if (pos == digits) {
      message = "expected a value";
      pos = start;
      return false;
    }
    if (pos < text.size() && text[pos] == '.') {
      integral = false;
      ++pos;
      while (pos < text.size() && std::isdigit((unsigned char)text[pos]))
        ++pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      integral = false;
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      while (pos < text.size() && std::isdigit((unsigned char)text[pos]))
        ++pos;
    }
    std::string token = text.substr(start, pos - start);
    if (integral && token.size() <= 18) {
      value = JsonValue::integer(std::strtoll(token.c_str(), nullptr, 10));
      return true;
    }
    value = JsonValue::number(std::strtod(token.c_str(), nullptr));
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // opening quote
    while (pos < text.size() && text[pos] != '"') {
      char ch = text[pos++];
      if (ch != '\\') {
        out += ch;
        continue;
      }
      if (pos >= text.size())
        break;
      char esc = text[pos++];
      switch (esc) {
      case '"':
      case '\\':
      case '/':
        out += esc;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        if (pos + 4 > text.size()) {
          message = "truncated \\u escape";
          return false;
        }
        unsigned code =
            unsigned(std::strtoul(text.substr(pos, 4).c_str(), nullptr, 16));
        pos += 4;
        // Basic multilingual plane only, as UTF-8.
        if (code < 0x80) {
          out += char(code);
        } else if (code < 0x800) {
          out += char(0xC0 | (code >> 6));
          out += char(0x80 | (code & 0x3F));
        } else {
          out += char(0xE0 | (code >> 12));
          out += char(0x80 | ((code >> 6) & 0x3F));
          out += char(0x80 | (code & 0x3F));
        }
        break;
      }
      default:
        message = "bad escape in string";
        return false;
      }
    }
    if (pos >= text.size()) {
      message = "unterminated string";
      return false;
    }
    ++pos; // closing quote
    return true;
  }

  bool parseArray(JsonValue &value, int depth) {
    value = JsonValue::array();
    ++pos;
    skipSpace();
    if (pos < text.size() && text[pos] == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      JsonValue element;
      if (!parseValue(element, depth + 1))
        return false;
      value.push(std::move(element));
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return true;
      }
      message = "expected ',' or ']' in array";
      return false;
    }
  }

  bool parseObject(JsonValue &value, int depth) {
    value = JsonValue::object();
    ++pos;
    skipSpace();
    if (pos < text.size() && text[pos] == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      if (pos >= text.size() || text[pos] != '"') {
        message = "expected a string key in object";
        return false;
      }
      std::string key;
      if (!parseString(key))
        return false;
      if (value.find(key)) {
        message = "duplicate key \"" + key + "\"";
        return false;
      }
      skipSpace();
      if (pos >= text.size() || text[pos] != ':') {
        message = "expected ':' after key \"" + key + "\"";
        return false;
      }
      ++pos;
      skipSpace();
      JsonValue member;
      if (!parseValue(member, depth + 1))
        return false;
      value.set(key, std::move(member));
      skipSpace();
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return true;
      }
      message = "expected ',' or '}' in object";
      return false;
    }
  }

  const std::string &text;
  size_t pos = 0;
  std::string message;
};
} // namespace

bool parseJson(const std::string &text, JsonValue &value, std::string &error) {
  return Parser(text).parse(value, error);
}

} // namespace sd::sdacc

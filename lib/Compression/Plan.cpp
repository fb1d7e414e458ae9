//===- Plan.cpp - Per-layer compression plans -----------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Plan.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

namespace sd::compression {

namespace {

namespace json = llvm::json;

/// Reads one object of settings, naming `where` (its JSON path) in errors.
class SettingsReader {
public:
  SettingsReader(std::string_view file, std::string &error)
      : file(file), error(error) {}

  bool read(const json::Object &object, const std::string &where,
            bool isDefaults, PlanSettings &out) {
    // Keys in order, so the first problem reported does not depend on
    // hashing.
    std::vector<std::string> keys;
    for (const auto &kv : object)
      keys.push_back(kv.first.str());
    std::sort(keys.begin(), keys.end());
    for (const std::string &key : keys) {
      const json::Value &v = *object.get(key);
      std::string at = where.empty() ? key : where + "." + key;
      bool ok = true;
      if (key == "form")
        ok = readChoice(v, at, {"se", "permdiag", "int", "dense"}, out.form);
      else if (key == "skip")
        ok = readBool(v, at, out.skip);
      else if (key == "threshold")
        ok = readNumber(v, at, 0.0, out.threshold);
      else if (key == "iterations")
        ok = readInt(v, at, 1, INT32_MAX, out.iterations);
      else if (key == "min-exp")
        ok = readInt(v, at, -126, 127, out.minExp);
      else if (key == "max-exp")
        ok = readInt(v, at, -126, 127, out.maxExp);
      else if (key == "block-rows")
        ok = readInt(v, at, 1, INT64_MAX, out.blockRows);
      else if (key == "structured-fraction")
        ok = readNumber(v, at, 0.0, out.structuredFraction);
      else if (key == "row-threshold")
        ok = readBool(v, at, out.rowThreshold);
      else if (key == "column-scale")
        ok = readBool(v, at, out.columnScale);
      else if (key == "min-size" && isDefaults)
        ok = readInt(v, at, 0, INT64_MAX, out.minSize);
      else if (key == "p")
        ok = readInt(v, at, 1, INT64_MAX, out.p);
      else if (key == "bits")
        ok = readInt(v, at, 2, 8, out.bits);
      else if (key == "rounding")
        ok = readChoice(v, at, {"nearest", "data"}, out.rounding);
      else
        return fail(where, "unknown key '" + key +
                               "' (expected form, skip, threshold, "
                               "iterations, min-exp, max-exp, block-rows, "
                               "structured-fraction, row-threshold, "
                               "column-scale, p, bits, rounding" +
                               (isDefaults ? ", min-size" : "") + ")");
      if (!ok)
        return false;
    }
    if (out.minExp && out.maxExp && *out.minExp > *out.maxExp)
      return fail(where, "min-exp " + std::to_string(*out.minExp) +
                             " is above max-exp " +
                             std::to_string(*out.maxExp));
    if (out.structuredFraction && *out.structuredFraction >= 1.0)
      return fail(where.empty() ? "structured-fraction"
                                : where + ".structured-fraction",
                  "expected a number in [0, 1), got " +
                      std::to_string(*out.structuredFraction));
    return true;
  }

  bool fail(const std::string &where, const std::string &what) {
    error = std::string(file) + ": " + (where.empty() ? "" : where + ": ") +
            what;
    return false;
  }

private:
  static std::string show(const json::Value &v) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << v;
    return s;
  }

  bool readBool(const json::Value &v, const std::string &at,
                std::optional<bool> &out) {
    if (auto b = v.getAsBoolean()) {
      out = *b;
      return true;
    }
    return fail(at, "expected true or false, got " + show(v));
  }

  bool readNumber(const json::Value &v, const std::string &at, double min,
                  std::optional<double> &out) {
    auto d = v.getAsNumber();
    if (!d || !std::isfinite(*d) || *d < min)
      return fail(at, "expected a number of at least " + formatNumber(min) +
                          ", got " + show(v));
    out = *d;
    return true;
  }

  bool readInt(const json::Value &v, const std::string &at, int64_t min,
               int64_t max, std::optional<int64_t> &out) {
    auto i = v.getAsInteger();
    if (!i || *i < min || *i > max) {
      std::string range = max == INT64_MAX || max == INT32_MAX
                              ? "of at least " + std::to_string(min)
                              : "from " + std::to_string(min) + " to " +
                                    std::to_string(max);
      return fail(at, "expected an integer " + range + ", got " + show(v));
    }
    out = *i;
    return true;
  }

  bool readChoice(const json::Value &v, const std::string &at,
                  std::initializer_list<const char *> choices,
                  std::optional<std::string> &out) {
    auto s = v.getAsString();
    for (const char *c : choices)
      if (s && *s == c) {
        out = s->str();
        return true;
      }
    std::string list;
    size_t i = 0;
    for (const char *c : choices) {
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ");
      list += c;
      ++i;
    }
    return fail(at, "expected " + list + ", got " + show(v));
  }

  static std::string formatNumber(double d) {
    std::string s = std::to_string(d);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.')
      s.pop_back();
    return s;
  }

  std::string_view file;
  std::string &error;
};

template <typename T>
void set(const std::optional<T> &value, std::optional<T> &target) {
  if (value)
    target = value;
}

} // namespace

PlanSettings PlanSettings::over(const PlanSettings &base) const {
  PlanSettings out = base;
  set(form, out.form);
  set(skip, out.skip);
  set(threshold, out.threshold);
  set(iterations, out.iterations);
  set(minExp, out.minExp);
  set(maxExp, out.maxExp);
  set(blockRows, out.blockRows);
  set(structuredFraction, out.structuredFraction);
  set(rowThreshold, out.rowThreshold);
  set(columnScale, out.columnScale);
  set(minSize, out.minSize);
  set(p, out.p);
  set(bits, out.bits);
  set(rounding, out.rounding);
  return out;
}

void PlanSettings::applyTo(DecomposeOptions &options) const {
  if (threshold)
    options.threshold = *threshold;
  if (iterations)
    options.iterations = int(*iterations);
  if (minExp)
    options.range.minExp = int(*minExp);
  if (maxExp)
    options.range.maxExp = int(*maxExp);
  if (blockRows)
    options.maxBlockRows = *blockRows;
  if (structuredFraction)
    options.structuredFraction = *structuredFraction;
  if (rowThreshold)
    options.rowThreshold = *rowThreshold;
  if (columnScale)
    options.columnScale = *columnScale;
}

PlanSettings Plan::settingsFor(std::string_view name, int64_t index,
                               std::vector<bool> &used) const {
  used.resize(layers.size(), false);
  PlanSettings out = defaults;
  std::string indexText = std::to_string(index);
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].selector == name || layers[i].selector == indexText) {
      out = layers[i].settings.over(out);
      used[i] = true;
    }
  return out;
}

bool parsePlan(std::string_view text, std::string_view file, Plan &plan,
               std::string &error) {
  plan = Plan();
  SettingsReader reader(file, error);
  llvm::Expected<json::Value> parsed =
      json::parse(llvm::StringRef(text.data(), text.size()));
  if (!parsed)
    return reader.fail("", "invalid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *top = parsed->getAsObject();
  if (!top)
    return reader.fail("", "expected an object with 'defaults' and 'layers'");
  for (const auto &kv : *top)
    if (kv.first != "defaults" && kv.first != "layers")
      return reader.fail("", "unknown key '" + kv.first.str() +
                                 "' (expected defaults and layers)");
  if (const json::Value *defaults = top->get("defaults")) {
    const json::Object *object = defaults->getAsObject();
    if (!object)
      return reader.fail("defaults", "expected an object");
    if (!reader.read(*object, "defaults", /*isDefaults=*/true, plan.defaults))
      return false;
  }
  if (const json::Value *layers = top->get("layers")) {
    const json::Object *object = layers->getAsObject();
    if (!object)
      return reader.fail("layers", "expected an object of layer names");
    for (const auto &kv : *object) {
      std::string selector = kv.first.str();
      std::string where = "layers." + selector;
      if (selector.empty())
        return reader.fail("layers", "empty layer name");
      const json::Object *settings = kv.second.getAsObject();
      if (!settings)
        return reader.fail(where, "expected an object of settings");
      PlanEntry entry{selector, {}};
      if (!reader.read(*settings, where, /*isDefaults=*/false,
                       entry.settings))
        return false;
      // int-k layers are quantized by the driver, which needs the k.
      PlanSettings effective = entry.settings.over(plan.defaults);
      if (effective.form.value_or("se") == "int" && !effective.bits)
        return reader.fail(where, "form int needs 'bits' (an integer from 2 "
                                  "to 8) in the entry or the defaults");
      plan.layers.push_back(std::move(entry));
    }
  }
  // Index entries first, then names, each in key order (a JSON object has
  // no order of its own).
  auto isIndex = [](const std::string &s) {
    return std::all_of(s.begin(), s.end(), llvm::isDigit);
  };
  std::sort(plan.layers.begin(), plan.layers.end(),
            [&](const PlanEntry &a, const PlanEntry &b) {
              bool ia = isIndex(a.selector), ib = isIndex(b.selector);
              if (ia != ib)
                return ia;
              return a.selector < b.selector;
            });
  return true;
}

bool readPlan(const std::string &path, Plan &plan, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = "cannot read plan file '" + path +
            "': " + buffer.getError().message();
    return false;
  }
  llvm::StringRef text = (*buffer)->getBuffer();
  return parsePlan(std::string_view(text.data(), text.size()), path, plan,
                   error);
}

} // namespace sd::compression

//===- PlanTest.cpp - The plan file parser --------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Plan.h"

#include "gtest/gtest.h"

using namespace sd::compression;

namespace {

Plan parseOk(const std::string &text) {
  Plan plan;
  std::string error;
  EXPECT_TRUE(parsePlan(text, "p.json", plan, error)) << error;
  return plan;
}

std::string parseError(const std::string &text) {
  Plan plan;
  std::string error;
  EXPECT_FALSE(parsePlan(text, "p.json", plan, error)) << text;
  return error;
}

TEST(Plan, ReadsDefaultsAndEveryKey) {
  Plan plan = parseOk(R"({"defaults": {"threshold": 0.01, "min-size": 0},
    "layers": {"fc1": {"form": "se", "threshold": 0.5, "iterations": 5,
                       "min-exp": -5, "max-exp": 2, "block-rows": 16,
                       "structured-fraction": 0.25, "row-threshold": true,
                       "column-scale": false, "skip": false},
               "fc2": {"form": "permdiag", "p": 8},
               "conv": {"form": "int", "bits": 6, "rounding": "data"}}})");
  EXPECT_EQ(plan.defaults.threshold, 0.01);
  EXPECT_EQ(plan.defaults.minSize, 0);
  ASSERT_EQ(plan.layers.size(), 3u);
  // Names in key order.
  EXPECT_EQ(plan.layers[0].selector, "conv");
  EXPECT_EQ(plan.layers[1].selector, "fc1");
  EXPECT_EQ(plan.layers[2].selector, "fc2");
  const PlanSettings &fc1 = plan.layers[1].settings;
  EXPECT_EQ(fc1.form, "se");
  EXPECT_EQ(fc1.threshold, 0.5);
  EXPECT_EQ(fc1.iterations, 5);
  EXPECT_EQ(fc1.minExp, -5);
  EXPECT_EQ(fc1.maxExp, 2);
  EXPECT_EQ(fc1.blockRows, 16);
  EXPECT_EQ(fc1.structuredFraction, 0.25);
  EXPECT_EQ(fc1.rowThreshold, true);
  EXPECT_EQ(fc1.columnScale, false);
  EXPECT_EQ(fc1.skip, false);
  EXPECT_EQ(plan.layers[2].settings.p, 8);
  EXPECT_EQ(plan.layers[0].settings.bits, 6);
  EXPECT_EQ(plan.layers[0].settings.rounding, "data");

  DecomposeOptions options;
  plan.defaults.over(PlanSettings()).applyTo(options);
  fc1.applyTo(options);
  EXPECT_EQ(options.threshold, 0.5);
  EXPECT_EQ(options.iterations, 5);
  EXPECT_EQ(options.range.minExp, -5);
  EXPECT_EQ(options.range.maxExp, 2);
  EXPECT_EQ(options.maxBlockRows, 16);
  EXPECT_EQ(options.structuredFraction, 0.25);
  EXPECT_TRUE(options.rowThreshold);
  EXPECT_FALSE(options.columnScale);
}

TEST(Plan, IndexEntriesComeBeforeNameEntries) {
  Plan plan = parseOk(R"({"defaults": {"threshold": 0.1, "max-exp": 3},
    "layers": {"fc1": {"threshold": 0.3}, "1": {"threshold": 0.2, "p": 2},
               "fc9": {"skip": true}}})");
  ASSERT_EQ(plan.layers.size(), 3u);
  EXPECT_EQ(plan.layers[0].selector, "1");
  std::vector<bool> used;
  PlanSettings s = plan.settingsFor("fc1", 1, used);
  EXPECT_EQ(s.threshold, 0.3); // the name entry wins
  EXPECT_EQ(s.p, 2);           // the index entry still applies
  EXPECT_EQ(s.maxExp, 3);      // the defaults under both
  EXPECT_EQ(used, (std::vector<bool>{true, true, false}));
  PlanSettings other = plan.settingsFor("fc2", 2, used);
  EXPECT_EQ(other.threshold, 0.1);
  EXPECT_FALSE(other.form.has_value());
  EXPECT_EQ(used, (std::vector<bool>{true, true, false}));
}

TEST(Plan, EmptyPlansAreValid) {
  EXPECT_TRUE(parseOk("{}").layers.empty());
  EXPECT_TRUE(parseOk(R"({"layers": {}})").layers.empty());
}

TEST(Plan, ErrorsNameTheFileThePlaceAndTheProblem) {
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"threshold": "abc"}}})"),
            "p.json: layers.fc1.threshold: expected a number of at least 0, "
            "got \"abc\"");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"foo": 1}}})"),
            "p.json: layers.fc1: unknown key 'foo' (expected form, skip, "
            "threshold, iterations, min-exp, max-exp, block-rows, "
            "structured-fraction, row-threshold, column-scale, p, bits, "
            "rounding)");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"form": "lowrank"}}})"),
            "p.json: layers.fc1.form: expected se, permdiag, int or dense, "
            "got \"lowrank\"");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"p": 0}}})"),
            "p.json: layers.fc1.p: expected an integer of at least 1, got 0");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"bits": 9}}})"),
            "p.json: layers.fc1.bits: expected an integer from 2 to 8, got 9");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"form": "int"}}})"),
            "p.json: layers.fc1: form int needs 'bits' (an integer from 2 to "
            "8) in the entry or the defaults");
  EXPECT_EQ(parseError(R"({"defaults": {"form": "int"}, "layers": {"fc1": {}}})"),
            "p.json: layers.fc1: form int needs 'bits' (an integer from 2 to "
            "8) in the entry or the defaults");
  {
    Plan plan;
    std::string error;
    EXPECT_TRUE(parsePlan(
        R"({"defaults": {"bits": 4}, "layers": {"fc1": {"form": "int"}}})",
        "p.json", plan, error))
        << error;
  }
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"skip": "maybe"}}})"),
            "p.json: layers.fc1.skip: expected true or false, got \"maybe\"");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"iterations": 1.5}}})"),
            "p.json: layers.fc1.iterations: expected an integer of at least "
            "1, got 1.5");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"min-exp": 3, "max-exp": 2}}})"),
            "p.json: layers.fc1: min-exp 3 is above max-exp 2");
  EXPECT_EQ(
      parseError(R"({"layers": {"fc1": {"structured-fraction": 1.0}}})"),
      "p.json: layers.fc1.structured-fraction: expected a number in [0, 1), "
      "got 1.000000");
  // min-size is a default, not a per-layer setting.
  EXPECT_EQ(parseError(R"({"layers": {"fc1": {"min-size": 3}}})")
                .rfind("p.json: layers.fc1: unknown key 'min-size' (", 0),
            0u);
  EXPECT_EQ(parseError(R"({"defaults": {"min-size": -1}})"),
            "p.json: defaults.min-size: expected an integer of at least 0, "
            "got -1");
  EXPECT_EQ(parseError(R"({"layer": {}})"),
            "p.json: unknown key 'layer' (expected defaults and layers)");
  EXPECT_EQ(parseError("[1, 2]"),
            "p.json: expected an object with 'defaults' and 'layers'");
  EXPECT_EQ(parseError(R"({"layers": [1]})"),
            "p.json: layers: expected an object of layer names");
  EXPECT_EQ(parseError(R"({"layers": {"fc1": 3}})"),
            "p.json: layers.fc1: expected an object of settings");
  EXPECT_EQ(parseError(R"({"layers": {"": {}}})"),
            "p.json: layers: empty layer name");
}

TEST(Plan, MalformedJsonGivesTheLineAndColumn) {
  std::string error = parseError("{\n  \"layers\": {\n    \"fc1\": {,}\n}");
  EXPECT_EQ(error.rfind("p.json: invalid JSON: [3:13, byte=", 0), 0u) << error;
}

TEST(Plan, MissingFilesAreErrors) {
  Plan plan;
  std::string error;
  EXPECT_FALSE(readPlan("/nonexistent/plan.json", plan, error));
  EXPECT_EQ(error.rfind("cannot read plan file '/nonexistent/plan.json': ", 0),
            0u)
      << error;
}

} // namespace

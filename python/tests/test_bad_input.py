#!/usr/bin/env python3
"""The driver (python3 -m smartdeal) on bad input: one `error:` line naming
the problem and the file, exit status 1, no traceback, and nothing created
(not the output folder, not its missing parents, not a temporary folder).
Run with /usr/bin/python3; exits non-zero on failure."""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent

# A model without any layer sd-decompose could take: nothing to compress.
NO_LAYERS = """func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = arith.addf %x, %x : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
"""


def run_driver(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    return subprocess.run([sys.executable, "-m", "smartdeal", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd)


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)
        self.model = self.tmp / "model.mlir"
        self.model.write_text(NO_LAYERS)

    def tearDown(self):
        self._tmp.cleanup()

    def fails(self, *args, message: str, files=("model.mlir",)):
        """The driver exits 1 with exactly one error line holding `message`
        and leaves only `files` in the scratch folder."""
        proc = run_driver(*args, cwd=self.tmp)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
        self.assertEqual(len(errors), 1, proc.stderr)
        self.assertIn(message, errors[0])
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), sorted(files))
        return errors[0]

    def plan(self, text: str) -> Path:
        path = self.tmp / "plan.json"
        path.write_text(text)
        return path

    def test_plan_layers_is_a_string(self):
        plan = self.plan('{"layers": "conv1"}')
        self.fails(self.model, "--config", plan, "-o", "out",
                   message=f"{plan}: layers: expected an object of layer names", files=("model.mlir", "plan.json"))

    def test_plan_is_a_list(self):
        plan = self.plan('[{"layers": {}}]')
        self.fails(self.model, "--config", plan, "-o", "out",
                   message=f"{plan}: expected an object with 'defaults' and 'layers'",
                   files=("model.mlir", "plan.json"))

    def test_plan_entry_types(self):
        plan = self.plan('{"layers": {"fc1": ["skip"]}}')
        self.fails(self.model, "--config", plan, message=f"{plan}: layers.fc1: expected "
                   "an object of settings", files=("model.mlir", "plan.json"))
        plan = self.plan('{"defaults": {"threshold": {"x": 1}}}')
        self.fails(self.model, "--config", plan, message=f"{plan}: defaults.threshold: "
                   'expected a number of at least 0, got {"x":1}',
                   files=("model.mlir", "plan.json"))

    def test_plan_not_json_names_the_line(self):
        plan = self.plan('{\n  "layers": {,}\n}')
        self.fails(self.model, "--config", plan, message=f"{plan}: invalid JSON: [2:14",
                   files=("model.mlir", "plan.json"))

    def test_bad_plan_creates_no_nested_output(self):
        plan = self.plan('{"layers": {"fc1": {"form": "lowrank"}}}')
        self.fails(self.model, "--config", plan, "-o", "new/nested/out",
                   message='layers.fc1.form: expected se, permdiag, int or dense, got "lowrank"',
                   files=("model.mlir", "plan.json"))

    def test_negative_counts(self):
        self.fails(self.model, "--samples", "-5", message="--samples must be at least 1, "
                   "got -5")
        self.fails(self.model, "--min-size", "-1", message="--min-size must be at least 0")
        self.fails(self.model, "--threshold", "nan", message="--threshold must be a "
                   "finite number >= 0, got nan")

    def test_empty_models(self):
        (self.tmp / "empty.mlir").write_text("")
        self.fails("empty.mlir", "-o", "new/out", message="model file empty.mlir is empty",
                   files=("model.mlir", "empty.mlir"))
        (self.tmp / "comments.mlir").write_text("// nothing here\n\n")
        self.fails("comments.mlir", message="model file comments.mlir holds no IR",
                   files=("model.mlir", "empty.mlir", "comments.mlir"))
        # The error names the user's file, not a temporary copy.
        (self.tmp / "empty.onnx").write_bytes(b"")
        self.fails("empty.onnx", message="model file empty.onnx is empty",
                   files=("model.mlir", "empty.mlir", "comments.mlir", "empty.onnx"))

    def test_output_is_a_file(self):
        (self.tmp / "taken").write_text("keep me")
        self.fails(self.model, "-o", "taken", message="-o taken: exists and is not a folder",
                   files=("model.mlir", "taken"))
        self.fails(self.model, "-o", "taken/out", message="-o taken/out: "
                   f"{self.tmp / 'taken'} is a file, not a folder",
                   files=("model.mlir", "taken"))
        self.assertEqual((self.tmp / "taken").read_text(), "keep me")

    def test_model_without_layers(self):
        # Runs sd-decompose (the only case here that gets that far): it finds
        # no candidate layer, and the run writes nothing.
        self.fails(self.model, "-o", "new/out", message=f"{self.model.name} has no linear "
                   "or convolution layer with a constant weight: nothing to compress")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

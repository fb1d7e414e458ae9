"""Write MLIR text: linalg-on-tensors in torch-mlir's spelling, and sd ops.

The one module of the package that spells MLIR syntax. The importers never
build MLIR objects (there are no MLIR Python bindings on Debian): they call
the `ModuleWriter` primitives here, each of which appends the text of one
upstream op and returns the SSA value it defines together with its static
shape (f32, statically shaped, as in torch-mlir's linalg-on-tensors output).
The sd functions at the end (`se_type`, `se_constant`, `sd_op`,
`func_module`, ...) spell the sd dialect's types and ops for the accelerator
networks, the per-layer simulation modules and the trained-model export.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, TextIO, Tuple, Union

import numpy as np

from .resources import identifier_safe, inline_hex, write_resource_section

__all__ = [
    "FLAVOURS",
    "FX",
    "TORCHSCRIPT",
    "Body",
    "ModuleWriter",
    "Value",
    "blob_hex",
    "dense_hex",
    "dense_resource",
    "f64_attr",
    "format_f32",
    "func_module",
    "i64_array",
    "permdiag_constant",
    "permdiag_type",
    "se_constant",
    "se_type",
    "sd_attrs",
    "sd_op",
    "tensor_collapse",
    "tensor_pad",
    "tensor_type",
]

FX = "fx"
TORCHSCRIPT = "torchscript"
FLAVOURS = (FX, TORCHSCRIPT)

Shape = Tuple[int, ...]


def tensor_type(shape: Sequence[int], elem: str = "f32") -> str:
    """`tensor<2x3xf32>`, or `tensor<f32>` for rank 0."""
    if len(shape) == 0:
        return f"tensor<{elem}>"
    return "tensor<" + "x".join(str(int(d)) for d in shape) + f"x{elem}>"


def format_f32(value: float) -> str:
    """An MLIR float literal that parses back to exactly this f32 value.

    Nine significant digits round-trip every f32; non-finite values have no
    decimal spelling, so they use MLIR's hexadecimal bit-pattern form.
    """
    v = float(np.float32(value))
    if math.isnan(v) or math.isinf(v):
        bits = struct.unpack("<I", struct.pack("<f", v))[0]
        return f"0x{bits:08X}"
    return f"{v:.8e}"


def _ints(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _loc(loc: Optional[str]) -> str:
    if not loc:
        return ""
    escaped = loc.replace("\\", "\\\\").replace('"', '\\"')
    return f' loc("{escaped}")'


@dataclass(frozen=True)
class Value:
    """An SSA value of a statically shaped f32 tensor."""

    name: str
    shape: Shape

    @property
    def type(self) -> str:
        return tensor_type(self.shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Body:
    """The scalar region of a linalg.generic: arith/math ops on f32 values.

    Each method appends one op and returns the SSA name of its result, so a
    lowering reads like the formula it implements.
    """

    def __init__(self, writer: "ModuleWriter"):
        self._writer = writer
        self.lines: List[str] = []

    def _op(self, text: str, ty: str = "f32") -> str:
        name = self._writer.fresh()
        self.lines.append(f"{name} = {text} : {ty}")
        return name

    def const(self, value: float) -> str:
        return self._op(f"arith.constant {format_f32(value)}")

    def add(self, a: str, b: str) -> str:
        return self._op(f"arith.addf {a}, {b}")

    def sub(self, a: str, b: str) -> str:
        return self._op(f"arith.subf {a}, {b}")

    def mul(self, a: str, b: str) -> str:
        return self._op(f"arith.mulf {a}, {b}")

    def div(self, a: str, b: str) -> str:
        return self._op(f"arith.divf {a}, {b}")

    def neg(self, a: str) -> str:
        return self._op(f"arith.negf {a}")

    def max(self, a: str, b: str) -> str:
        return self._op(f"arith.maximumf {a}, {b}")

    def min(self, a: str, b: str) -> str:
        return self._op(f"arith.minimumf {a}, {b}")

    def math(self, fn: str, a: str) -> str:
        """`math.exp`, `math.sqrt`, `math.rsqrt`, `math.tanh`, `math.erf`, ..."""
        return self._op(f"math.{fn} {a}")

    def powf(self, a: str, b: str) -> str:
        return self._op(f"math.powf {a}, {b}")

    def cmpf(self, predicate: str, a: str, b: str) -> str:
        """An i1 comparison (the trailing type names the operands, not i1)."""
        return self._op(f"arith.cmpf {predicate}, {a}, {b}")

    def select(self, cond: str, a: str, b: str) -> str:
        return self._op(f"arith.select {cond}, {a}, {b}")

    def clamp(self, a: str, lo: Optional[float], hi: Optional[float]) -> str:
        """min(max(a, lo), hi), as torch-mlir lowers clamp on floats."""
        if lo is not None:
            a = self.max(a, self.const(lo))
        if hi is not None:
            a = self.min(a, self.const(hi))
        return a

    def sigmoid(self, a: str) -> str:
        """1 / (1 + exp(-a)), torch-mlir's lowering of aten.sigmoid."""
        one = self.const(1.0)
        return self.div(one, self.add(self.math("exp", self.neg(a)), one))


# Body callbacks receive the Body and one SSA name per input and return the
# name of the value to yield.
BodyFn = Callable[..., str]
Operand = Union[Value, float]


class ModuleWriter:
    """Accumulates the body of `func.func @main` and the weights it uses.

    flavour "fx" mirrors torch-mlir's FX importer (weights as dense_resource
    blobs, transposes as linalg.transpose); "torchscript" mirrors the older
    TorchScript path as its files read: `module attributes
    {torch.debug_module_name = ...}`, the `ml_program.global @global_seed`,
    `func.func @forward`, weights inline as dense<"0x...">, transposes and
    broadcasts as copying linalg.generic ops (identity input map, permuted
    or widened output). Both produce the same numbers.
    """

    def __init__(self, flavour: str = FX):
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
        self.flavour = flavour
        self.lines: List[str] = []
        self.args: List[Value] = []
        self.results: List[Value] = []
        self.resources: Dict[str, np.ndarray] = {}
        self._counter = 0
        self._maps: Dict[str, str] = {}
        self._scalars: Dict[bytes, str] = {}
        self._consts: Dict[str, Tuple[np.ndarray, Value]] = {}
        self._inline: Dict[str, np.ndarray] = {}
        # torch.debug_module_name of the TorchScript form (the module's class).
        self.module_name: Optional[str] = None

    # ----------------------------------------------------------- utilities
    def fresh(self, prefix: str = "") -> str:
        name = f"%{prefix}{self._counter}"
        self._counter += 1
        return name

    def _emit(self, text: str) -> None:
        self.lines.append(text)

    def affine_map(self, text: str) -> str:
        """An alias (#mapN) for an affine map, as mlir-opt prints them."""
        if text not in self._maps:
            alias = "#map" if not self._maps else f"#map{len(self._maps)}"
            self._maps[text] = alias
        return self._maps[text]

    @staticmethod
    def _dims(rank: int) -> str:
        return "(" + ", ".join(f"d{i}" for i in range(rank)) + ")"

    def scalar(self, value: float) -> str:
        """A function-level f32 constant (fill and pad values), emitted once."""
        key = struct.pack("<f", float(np.float32(value)))
        if key not in self._scalars:
            name = self.fresh("cst")
            self._emit(f"{name} = arith.constant {format_f32(value)} : f32")
            self._scalars[key] = name
        return self._scalars[key]

    # ------------------------------------------------------------ function
    def argument(self, shape: Sequence[int]) -> Value:
        value = Value(f"%arg{len(self.args)}", tuple(int(d) for d in shape))
        self.args.append(value)
        return value

    def constant(
        self, array: np.ndarray, name: str, loc: Optional[str] = None
    ) -> Value:
        """A weight tensor, as dense_resource (fx) or inline hex (torchscript).

        `name` is the framework's parameter name; the same name with the same
        data returns the SSA value already emitted, so a weight used twice is
        stored once. Different data under a taken name gets a suffix.
        """
        array = np.asarray(array, dtype=np.float32)
        key = identifier_safe(name)
        if key in self._consts:
            old, value = self._consts[key]
            if old.shape == array.shape and np.array_equal(old, array):
                return value
            suffix = 1
            while f"{key}_{suffix}" in self._consts:
                suffix += 1
            key = f"{key}_{suffix}"
        value = Value(self.fresh("cst"), tuple(int(d) for d in array.shape))
        if self.flavour == FX:
            self.resources[key] = array
            attr = f"dense_resource<{key}>"
        else:
            attr = f'dense<"{inline_hex(array)}">'
        self._emit(f"{value.name} = arith.constant {attr} : {value.type}{_loc(loc)}")
        self._consts[key] = (array, value)
        return value

    def ret(self, *values: Value) -> None:
        self.results = list(values)

    # ------------------------------------------------------- tensor basics
    def empty(self, shape: Sequence[int]) -> Value:
        value = Value(self.fresh(), tuple(int(d) for d in shape))
        self._emit(f"{value.name} = tensor.empty() : {value.type}")
        return value

    def fill(self, shape: Sequence[int], fill_value: float) -> Value:
        scalar = self.scalar(fill_value)
        init = self.empty(shape)
        value = Value(self.fresh(), init.shape)
        self._emit(
            f"{value.name} = linalg.fill ins({scalar} : f32) outs({init.name} : "
            f"{init.type}) -> {init.type}"
        )
        return value

    def pad(
        self,
        x: Value,
        low: Sequence[int],
        high: Sequence[int],
        pad_value: float = 0.0,
    ) -> Value:
        if not any(low) and not any(high):
            return x
        scalar = self.scalar(pad_value)
        shape = tuple(d + lo + hi for d, lo, hi in zip(x.shape, low, high))
        value = Value(self.fresh("padded"), shape)
        idx = ", ".join(f"%i{self._counter}_{i}: index" for i in range(x.rank))
        self._emit(
            f"{value.name} = tensor.pad {x.name} low{_ints(low)} high{_ints(high)} {{"
        )
        self._emit(f"^bb0({idx}):")
        self._emit(f"  tensor.yield {scalar} : f32")
        self._emit(f"}} : {x.type} to {value.type}")
        return value

    def collapse(self, x: Value, groups: Sequence[Sequence[int]]) -> Value:
        shape = tuple(
            int(np.prod([x.shape[i] for i in g], dtype=np.int64)) for g in groups
        )
        value = Value(self.fresh("collapsed"), shape)
        reassoc = "[" + ", ".join(_ints(g) for g in groups) + "]"
        self._emit(
            f"{value.name} = tensor.collapse_shape {x.name} {reassoc} : "
            f"{x.type} into {value.type}"
        )
        return value

    def expand(
        self, x: Value, groups: Sequence[Sequence[int]], shape: Sequence[int]
    ) -> Value:
        value = Value(self.fresh("expanded"), tuple(int(d) for d in shape))
        reassoc = "[" + ", ".join(_ints(g) for g in groups) + "]"
        self._emit(
            f"{value.name} = tensor.expand_shape {x.name} {reassoc} output_shape "
            f"{_ints(shape)} : {x.type} into {value.type}"
        )
        return value

    def reshape(self, x: Value, shape: Sequence[int]) -> Value:
        """Any static reshape as collapse_shape and/or expand_shape.

        Dimensions are matched into contiguous groups of equal product; when
        the groups only merge (or only split) one op suffices, otherwise the
        tensor is collapsed to the group products and expanded again, which
        is how torch-mlir spells a general aten.view.
        """
        shape = tuple(int(d) for d in shape)
        if shape == x.shape:
            return x
        if int(np.prod(shape, dtype=np.int64)) != x.size:
            raise ValueError(f"cannot reshape {x.shape} to {shape}")
        if x.rank == 0:
            return self.expand(x, [], shape)
        if len(shape) == 0:
            return self.collapse(x, [])
        groups = _reshape_groups(x.shape, shape)
        if all(len(o) == 1 for _, o in groups):
            return self.collapse(x, [i for i, _ in groups])
        if all(len(i) == 1 for i, _ in groups):
            return self.expand(x, [o for _, o in groups], shape)
        mid = self.collapse(x, [i for i, _ in groups])
        starts, pos = [], 0
        for _, o in groups:
            starts.append(list(range(pos, pos + len(o))))
            pos += len(o)
        return self.expand(mid, starts, shape)

    def extract_slice(
        self,
        x: Value,
        offsets: Sequence[int],
        sizes: Sequence[int],
        strides: Optional[Sequence[int]] = None,
    ) -> Value:
        strides = strides or [1] * x.rank
        value = Value(self.fresh("extracted_slice"), tuple(int(s) for s in sizes))
        if value.shape == x.shape and not any(offsets):
            return x
        self._emit(
            f"{value.name} = tensor.extract_slice {x.name}{_ints(offsets)} "
            f"{_ints(sizes)} {_ints(strides)} : {x.type} to {value.type}"
        )
        return value

    def insert_slice(
        self,
        x: Value,
        dest: Value,
        offsets: Sequence[int],
        strides: Optional[Sequence[int]] = None,
    ) -> Value:
        """`x` written into `dest` at `offsets`, every `strides`-th element."""
        strides = strides or [1] * x.rank
        value = Value(self.fresh("inserted_slice"), dest.shape)
        self._emit(
            f"{value.name} = tensor.insert_slice {x.name} into {dest.name}"
            f"{_ints(offsets)} {_ints(x.shape)} {_ints(strides)} : {x.type} into "
            f"{dest.type}"
        )
        return value

    def gather_affine(
        self,
        x: Value,
        shape: Sequence[int],
        exprs: Sequence[str],
        loc: Optional[str] = None,
    ) -> Value:
        """out[d0, d1, ...] = x[exprs...] with affine index expressions.

        Used for nearest-neighbour upsampling, whose input map divides the
        output index by the integer scale (`d2 floordiv 2`).
        """
        rank = len(shape)
        in_map = self.affine_map(f"{self._dims(rank)} -> ({', '.join(exprs)})")
        out_map = self.affine_map(f"{self._dims(rank)} -> {self._dims(rank)}")
        init = self.empty(shape)
        return self._generic(
            [x], init, [in_map, out_map], ["parallel"] * rank, lambda b, a: a, loc
        )

    def concat(self, xs: Sequence[Value], axis: int) -> Value:
        if len(xs) == 1:
            return xs[0]
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        value = Value(self.fresh("concat"), tuple(shape))
        names = ", ".join(x.name for x in xs)
        types = ", ".join(x.type for x in xs)
        self._emit(
            f"{value.name} = tensor.concat dim({axis}) {names} : ({types}) -> "
            f"{value.type}"
        )
        return value

    # --------------------------------------------------------- linalg ops
    def transpose(
        self, x: Value, perm: Sequence[int], loc: Optional[str] = None
    ) -> Value:
        """out[i] has dimension x.shape[perm[i]], as in numpy.transpose."""
        perm = [int(p) for p in perm]
        if perm == list(range(x.rank)):
            return x
        shape = tuple(x.shape[p] for p in perm)
        init = self.empty(shape)
        if self.flavour == FX:
            value = Value(self.fresh("transposed"), shape)
            self._emit(
                f"{value.name} = linalg.transpose ins({x.name} : {x.type}) "
                f"outs({init.name} : {init.type}) permutation = {_ints(perm)}"
                f"{_loc(loc)}"
            )
            return value
        # TorchScript path: iterate over the input and write the output
        # through the permutation (output dim i is loop perm[i]).
        rank = x.rank
        in_map = self.affine_map(f"{self._dims(rank)} -> {self._dims(rank)}")
        out_map = self.affine_map(
            f"{self._dims(rank)} -> (" + ", ".join(f"d{p}" for p in perm) + ")"
        )
        return self._generic(
            [x], init, [in_map, out_map], ["parallel"] * rank, lambda b, a: a, loc
        )

    def broadcast(
        self,
        x: Value,
        shape: Sequence[int],
        dims: Sequence[int],
        loc: Optional[str] = None,
    ) -> Value:
        """linalg.broadcast: `dims` are the output dimensions that are added
        (a copying generic that reads the kept dimensions, TorchScript form)."""
        init = self.empty(shape)
        if self.flavour != FX:
            rank = len(shape)
            kept = [d for d in range(rank) if d not in dims]
            in_map = self.affine_map(
                f"{self._dims(rank)} -> (" + ", ".join(f"d{d}" for d in kept) + ")"
            )
            out_map = self.affine_map(f"{self._dims(rank)} -> {self._dims(rank)}")
            return self._generic(
                [x], init, [in_map, out_map], ["parallel"] * rank, lambda b, a: a, loc
            )
        value = Value(self.fresh("broadcasted"), init.shape)
        self._emit(
            f"{value.name} = linalg.broadcast ins({x.name} : {x.type}) outs("
            f"{init.name} : {init.type}) dimensions = {_ints(dims)}{_loc(loc)}"
        )
        return value

    def _named(
        self,
        op: str,
        ins: Sequence[Value],
        init: Value,
        attrs: str = "",
        loc: Optional[str] = None,
    ) -> Value:
        value = Value(self.fresh(), init.shape)
        names = ", ".join(v.name for v in ins)
        types = ", ".join(v.type for v in ins)
        attrs = f" {attrs}" if attrs else ""
        self._emit(
            f"{value.name} = linalg.{op}{attrs} ins({names} : {types}) outs("
            f"{init.name} : {init.type}) -> {init.type}{_loc(loc)}"
        )
        return value

    def matmul(self, a: Value, b: Value, loc: Optional[str] = None) -> Value:
        (m, k), (k2, n) = a.shape, b.shape
        assert k == k2, (a.shape, b.shape)
        return self._named("matmul", [a, b], self.fill((m, n), 0.0), loc=loc)

    def batch_matmul(self, a: Value, b: Value, loc: Optional[str] = None) -> Value:
        (bt, m, k), (bt2, k2, n) = a.shape, b.shape
        assert k == k2 and bt == bt2, (a.shape, b.shape)
        return self._named("batch_matmul", [a, b], self.fill((bt, m, n), 0.0), loc=loc)

    @staticmethod
    def _conv_attrs(strides: Sequence[int], dilations: Sequence[int]) -> str:
        def dense(v: Sequence[int]) -> str:
            body = str(v[0]) if len(set(v)) == 1 else _ints(v)
            return f"dense<{body}> : tensor<{len(v)}xi64>"

        return f"{{dilations = {dense(dilations)}, strides = {dense(strides)}}}"

    @staticmethod
    def _window_out(size: int, k: int, stride: int, dil: int) -> int:
        return (size - dil * (k - 1) - 1) // stride + 1

    def conv2d_nchw_fchw(
        self,
        x: Value,
        w: Value,
        strides: Sequence[int],
        dilations: Sequence[int],
        loc: Optional[str] = None,
    ) -> Value:
        n, _, h, wd = x.shape
        f, _, r, s = w.shape
        ho = self._window_out(h, r, strides[0], dilations[0])
        wo = self._window_out(wd, s, strides[1], dilations[1])
        init = self.fill((n, f, ho, wo), 0.0)
        attrs = self._conv_attrs(strides, dilations)
        return self._named("conv_2d_nchw_fchw", [x, w], init, attrs, loc)

    def conv2d_ngchw_gfchw(
        self,
        x: Value,
        w: Value,
        strides: Sequence[int],
        dilations: Sequence[int],
        loc: Optional[str] = None,
    ) -> Value:
        n, g, _, h, wd = x.shape
        _, f, _, r, s = w.shape
        ho = self._window_out(h, r, strides[0], dilations[0])
        wo = self._window_out(wd, s, strides[1], dilations[1])
        init = self.fill((n, g, f, ho, wo), 0.0)
        attrs = self._conv_attrs(strides, dilations)
        return self._named("conv_2d_ngchw_gfchw", [x, w], init, attrs, loc)

    def depthwise_conv2d_nchw_chw(
        self,
        x: Value,
        w: Value,
        strides: Sequence[int],
        dilations: Sequence[int],
        loc: Optional[str] = None,
    ) -> Value:
        n, c, h, wd = x.shape
        _, r, s = w.shape
        ho = self._window_out(h, r, strides[0], dilations[0])
        wo = self._window_out(wd, s, strides[1], dilations[1])
        init = self.fill((n, c, ho, wo), 0.0)
        attrs = self._conv_attrs(strides, dilations)
        return self._named("depthwise_conv_2d_nchw_chw", [x, w], init, attrs, loc)

    def conv1d_ncw_fcw(
        self,
        x: Value,
        w: Value,
        stride: int,
        dilation: int,
        loc: Optional[str] = None,
    ) -> Value:
        n, _, length = x.shape
        f, _, k = w.shape
        lo = self._window_out(length, k, stride, dilation)
        init = self.fill((n, f, lo), 0.0)
        attrs = self._conv_attrs([stride], [dilation])
        return self._named("conv_1d_ncw_fcw", [x, w], init, attrs, loc)

    def pooling_nchw(
        self,
        x: Value,
        kind: str,
        kernel: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int] = (1, 1),
        loc: Optional[str] = None,
    ) -> Value:
        """linalg.pooling_nchw_max or _sum over an already padded input."""
        n, c, h, wd = x.shape
        ho = self._window_out(h, kernel[0], strides[0], dilations[0])
        wo = self._window_out(wd, kernel[1], strides[1], dilations[1])
        init_value = -math.inf if kind == "max" else 0.0
        init = self.fill((n, c, ho, wo), init_value)
        window = self.empty(kernel)
        attrs = self._conv_attrs(strides, dilations)
        return self._named(f"pooling_nchw_{kind}", [x, window], init, attrs, loc)

    def _generic(
        self,
        ins: Sequence[Value],
        init: Value,
        maps: Sequence[str],
        iterators: Sequence[str],
        fn: BodyFn,
        loc: Optional[str] = None,
        scalars: Sequence[Optional[float]] = (),
        reads_out: bool = False,
    ) -> Value:
        """The general linalg.generic; `fn` gets the block arguments' names.

        `scalars` interleaves Python floats with the tensor inputs (None marks
        a tensor); a reduction sets `reads_out` to receive the accumulator.
        """
        value = Value(self.fresh(), init.shape)
        body = Body(self)
        args = [f"%in{self._counter}_{i}" for i in range(len(ins))]
        out_arg = f"%out{self._counter}"
        self._counter += 1
        # Python-float operands become constants inside the region, as
        # torch-mlir does for scalar literals.
        operands: List[str] = []
        it = iter(args)
        if scalars:
            for s in scalars:
                operands.append(body.const(s) if s is not None else next(it))
        else:
            operands = list(args)
        if reads_out:
            operands.append(out_arg)
        result = fn(body, *operands)
        iters = ", ".join(f'"{t}"' for t in iterators)
        header = f"{{indexing_maps = [{', '.join(maps)}], iterator_types = [{iters}]}}"
        ins_text = ""
        if ins:
            ins_text = (
                f" ins({', '.join(v.name for v in ins)} : "
                f"{', '.join(v.type for v in ins)})"
            )
        self._emit(
            f"{value.name} = linalg.generic {header}{ins_text} outs({init.name} : "
            f"{init.type}) {{"
        )
        block_args = ", ".join([f"{a}: f32" for a in args] + [f"{out_arg}: f32"])
        self._emit(f"^bb0({block_args}):")
        for line in body.lines:
            self._emit("  " + line)
        self._emit(f"  linalg.yield {result} : f32")
        self._emit(f"}} -> {init.type}{_loc(loc)}")
        return value

    def elementwise(
        self,
        operands: Sequence[Operand],
        fn: BodyFn,
        loc: Optional[str] = None,
        shape: Optional[Sequence[int]] = None,
        dims: Optional[Sequence[Optional[Sequence[int]]]] = None,
    ) -> Value:
        """A parallel linalg.generic with numpy broadcasting of its operands.

        Size-1 dimensions that broadcast are read through a constant 0 in the
        indexing map and missing leading dimensions are dropped, exactly as
        torch-mlir broadcasts elementwise ops. Python floats are folded into
        the body as constants. `shape` forces a larger result shape; `dims`
        optionally gives, per operand, the result dimension each of its
        dimensions runs along (a conv bias [F] runs along dimension 1).
        """
        tensors = [v for v in operands if isinstance(v, Value)]
        if not tensors:
            raise ValueError("elementwise needs at least one tensor operand")
        tensor_dims = None
        if dims is not None:
            tensor_dims = [d for v, d in zip(operands, dims) if isinstance(v, Value)]
        if shape is None:
            shapes = [
                v.shape
                for k, v in enumerate(tensors)
                if tensor_dims is None or tensor_dims[k] is None
            ]
            shape = tuple(np.broadcast_shapes(*shapes))
        shape = tuple(int(d) for d in shape)
        rank = len(shape)
        maps = []
        for k, v in enumerate(tensors):
            if tensor_dims is not None and tensor_dims[k] is not None:
                out_dims = list(tensor_dims[k])
            else:
                out_dims = [rank - v.rank + i for i in range(v.rank)]
            exprs = []
            for i, d in enumerate(v.shape):
                od = out_dims[i]
                if d != shape[od] and d != 1:
                    raise ValueError(f"cannot broadcast {v.shape} to {shape}")
                exprs.append("0" if d == 1 and shape[od] != 1 else f"d{od}")
            maps.append(self.affine_map(f"{self._dims(rank)} -> ({', '.join(exprs)})"))
        maps.append(self.affine_map(f"{self._dims(rank)} -> {self._dims(rank)}"))
        init = self.empty(shape)
        scalars = [None if isinstance(v, Value) else float(v) for v in operands]
        has_scalar = any(s is not None for s in scalars)
        return self._generic(
            tensors,
            init,
            maps,
            ["parallel"] * rank,
            fn,
            loc,
            scalars if has_scalar else (),
        )

    def reduce(
        self,
        x: Value,
        axes: Sequence[int],
        kind: str = "sum",
        keepdims: bool = True,
        loc: Optional[str] = None,
    ) -> Value:
        """Sum or max over `axes` as a generic with reduction iterators.

        Kept dimensions appear as a constant 0 in the output map, which is
        torch-mlir's spelling of keepdim=True.
        """
        rank = x.rank
        axes = sorted({a % rank for a in axes}) if rank else []
        out_exprs, shape = [], []
        for i in range(rank):
            if i in axes:
                if keepdims:
                    out_exprs.append("0")
                    shape.append(1)
            else:
                out_exprs.append(f"d{i}")
                shape.append(x.shape[i])
        in_map = self.affine_map(f"{self._dims(rank)} -> {self._dims(rank)}")
        out_map = self.affine_map(f"{self._dims(rank)} -> ({', '.join(out_exprs)})")
        init = self.fill(shape, -math.inf if kind == "max" else 0.0)
        iterators = ["reduction" if i in axes else "parallel" for i in range(rank)]
        if kind == "sum":
            fn = lambda b, a, out: b.add(a, out)  # noqa: E731
        elif kind == "max":
            fn = lambda b, a, out: b.max(a, out)  # noqa: E731
        else:
            raise ValueError(f"unknown reduction {kind}")
        return self._generic(
            [x], init, [in_map, out_map], iterators, fn, loc, reads_out=True
        )

    def contract(
        self,
        a: Value,
        b: Value,
        a_dims: str,
        b_dims: str,
        out_dims: str,
        sizes: Dict[str, int],
        loc: Optional[str] = None,
    ) -> Value:
        """An einsum-style contraction generic (used for adaptive pooling).

        Dimension letters not in `out_dims` are reduced.
        """
        letters = list(dict.fromkeys(out_dims + a_dims + b_dims))
        index = {c: i for i, c in enumerate(letters)}
        rank = len(letters)

        def amap(dims: str) -> str:
            return self.affine_map(
                f"{self._dims(rank)} -> ("
                + ", ".join(f"d{index[c]}" for c in dims)
                + ")"
            )

        init = self.fill([sizes[c] for c in out_dims], 0.0)
        iterators = ["parallel" if c in out_dims else "reduction" for c in letters]
        return self._generic(
            [a, b],
            init,
            [amap(a_dims), amap(b_dims), amap(out_dims)],
            iterators,
            lambda bd, x, y, out: bd.add(bd.mul(x, y), out),
            loc,
            reads_out=True,
        )

    # ---------------------------------------------------------- sd dialect
    def sd_weight(self, constant: str, loc: Optional[str] = None) -> str:
        """An sd weight constant (`se_constant` / `permdiag_constant` text);
        returns its SSA name (sd weights are not tensors, so no Value)."""
        name = self.fresh("w")
        self._emit(f"{name} = {constant}{_loc(loc)}")
        return name

    def sd_compute(
        self,
        op: str,
        x: Value,
        weight: str,
        weight_type: str,
        out_shape: Sequence[int],
        bias: Optional[Value] = None,
        attrs: Optional[Dict[str, object]] = None,
        loc: Optional[str] = None,
    ) -> Value:
        """`sd.shift_add_matmul` / `shift_add_conv2d` / `permdiag_matmul` of
        `x` and an sd weight into a zero init (the bias fused)."""
        init = self.fill(out_shape, 0.0)
        value = Value(self.fresh(), init.shape)
        text = sd_op(
            op,
            [(x.name, x.type), (weight, weight_type)],
            init.type,
            bias=(bias.name, bias.type) if bias is not None else None,
            init=(init.name, init.type),
            attrs=attrs,
        )
        self._emit(f"{value.name} = {text}{_loc(loc)}")
        return value

    # -------------------------------------------------------------- output
    def write(self, out: TextIO, func_name: Optional[str] = None) -> None:
        """Write the whole module, resources last, streaming the blobs. The
        function is @main (FX) or @forward (TorchScript) unless named."""
        if func_name is None:
            func_name = "main" if self.flavour == FX else "forward"
        for text, alias in self._maps.items():
            out.write(f"{alias} = affine_map<{text}>\n")
        args = ", ".join(f"{a.name}: {a.type}" for a in self.args)
        if len(self.results) == 1:
            rtypes = self.results[0].type
        else:
            rtypes = "(" + ", ".join(r.type for r in self.results) + ")"
        if self.flavour == FX:
            out.write("module {\n")
        else:
            attrs = (f' attributes {{torch.debug_module_name = "{self.module_name}"}}'
                     if self.module_name else "")
            out.write(f"module{attrs} {{\n")
            out.write("  ml_program.global private mutable @global_seed(dense<0> : "
                      "tensor<i64>) : tensor<i64>\n")
        out.write(f"  func.func @{func_name}({args}) -> {rtypes} {{\n")
        indent = "    "
        for line in self.lines:
            out.write(indent + line + "\n")
        names = ", ".join(r.name for r in self.results)
        types = ", ".join(r.type for r in self.results)
        out.write(f"{indent}return {names} : {types}\n")
        out.write("  }\n}\n")
        write_resource_section(out, self.resources)

    def text(self, func_name: Optional[str] = None) -> str:
        buf = io.StringIO()
        self.write(buf, func_name)
        return buf.getvalue()


def _reshape_groups(
    src: Sequence[int], dst: Sequence[int]
) -> List[Tuple[List[int], List[int]]]:
    """Pair contiguous runs of `src` and `dst` dimensions with equal products.

    Size-1 dimensions left over at the end join the last group, so every
    dimension belongs to exactly one group as reassociation indices require.
    """
    groups: List[Tuple[List[int], List[int]]] = []
    i = j = 0
    while i < len(src) and j < len(dst):
        gi, gj = [i], [j]
        pi, pj = src[i], dst[j]
        i += 1
        j += 1
        while pi != pj:
            if pi < pj:
                gi.append(i)
                pi *= src[i]
                i += 1
            else:
                gj.append(j)
                pj *= dst[j]
                j += 1
        groups.append((gi, gj))
    while i < len(src):
        groups[-1][0].append(i)
        i += 1
    while j < len(dst):
        groups[-1][1].append(j)
        j += 1
    return groups


# ===------------------------------------------------------------------=== #
# The sd dialect (include/SD/Dialect/SD/IR/SDOps.td is the grammar spelled)
# ===------------------------------------------------------------------=== #


def se_type(
    shape: Sequence[int],
    blocks: int,
    block_rows: int,
    min_exp: int,
    max_exp: int,
    elem: str = "f32",
) -> str:
    """`!sd.se<16x20xf32, blocks = 1x7, exponents = [-8, 5]>`."""
    dims = "x".join(str(int(d)) for d in shape)
    return (
        f"!sd.se<{dims}x{elem}, blocks = {int(blocks)}x{int(block_rows)}, "
        f"exponents = [{int(min_exp)}, {int(max_exp)}]>"
    )


def permdiag_type(shape: Sequence[int], p: int, elem: str = "f32") -> str:
    """`!sd.permdiag<512x1024xf32, p = 8>`."""
    return f"!sd.permdiag<{int(shape[0])}x{int(shape[1])}x{elem}, p = {int(p)}>"


def dense_hex(array: np.ndarray, dtype: str, elem: str) -> str:
    """An inline `dense<"0x...">` attribute holding `array` bit-exactly as
    `dtype` (numpy spelling, little-endian) with MLIR element type `elem`."""
    a = np.ascontiguousarray(array, dtype=dtype)
    return f'dense<"0x{a.tobytes().hex().upper()}"> : {tensor_type(a.shape, elem)}'


def dense_resource(key: str, shape: Sequence[int], elem: str) -> str:
    """`dense_resource<key> : tensor<...>` (the blob goes in `func_module`)."""
    return f"dense_resource<{key}> : {tensor_type(shape, elem)}"


def blob_hex(array: np.ndarray) -> str:
    """The value of a builtin resource blob: its alignment (the element size)
    as a little-endian uint32, then the data."""
    a = np.ascontiguousarray(array)
    align = int(a.dtype.itemsize).to_bytes(4, "little").hex().upper()
    return "0x" + align + a.tobytes().hex().upper()


def f64_attr(value: float) -> str:
    """An f64 attribute that parses back to exactly `value`."""
    return repr(float(value)) + " : f64"


def i64_array(values: Sequence[int]) -> str:
    """`array<i64: 1, 2>`."""
    return "array<i64: " + ", ".join(str(int(v)) for v in values) + ">"


def sd_attrs(attrs: Optional[Dict[str, object]]) -> str:
    """An attribute dictionary `{a = ..., relu}`, or "" when empty.

    True is a unit attribute, False and None leave the entry out, floats are
    f64, int sequences `array<i64: ...>`, strings are written as they are.
    """
    parts = []
    for name, v in (attrs or {}).items():
        if v is None or v is False:
            continue
        if v is True:
            parts.append(name)
        elif isinstance(v, str):
            parts.append(f"{name} = {v}")
        elif isinstance(v, (list, tuple)):
            parts.append(f"{name} = {i64_array(v)}")
        else:
            parts.append(f"{name} = {f64_attr(v)}")
    return "{" + ", ".join(parts) + "}" if parts else ""


def se_constant(codes: str, basis: str, weight_type: str) -> str:
    """`sd.se_constant codes(<attr>) basis(<attr>) : !sd.se<...>`."""
    return f"sd.se_constant codes({codes}) basis({basis}) : {weight_type}"


def permdiag_constant(offsets: str, values: str, weight_type: str) -> str:
    """`sd.permdiag_constant offsets(<attr>) values(<attr>) : !sd.permdiag<...>`."""
    return f"sd.permdiag_constant offsets({offsets}) values({values}) : {weight_type}"


# Ops whose attribute dictionary comes before `ins` in their assembly format.
_ATTRS_FIRST = ("sd.shift_add_conv2d",)

Typed = Tuple[str, str]


def sd_op(
    op: str,
    ins: Sequence[Typed],
    result_type: str,
    bias: Optional[Typed] = None,
    init: Optional[Typed] = None,
    attrs: Optional[Dict[str, object]] = None,
) -> str:
    """One sd compute op, `sd.<op> ins(a, w : ta, tw) [bias(b : tb)]
    [outs(i : ti)] {attrs} -> type`, with the attributes where the op's
    assembly format puts them. `ins`, `bias` and `init` are (SSA name, type)."""
    op = op if op.startswith("sd.") else "sd." + op
    names = ", ".join(n for n, _ in ins)
    types = ", ".join(t for _, t in ins)
    a = sd_attrs(attrs)
    text = op
    if a and op in _ATTRS_FIRST:
        text += " " + a
    text += f" ins({names} : {types})"
    if bias:
        text += f" bias({bias[0]} : {bias[1]})"
    if init:
        text += f" outs({init[0]} : {init[1]})"
    if a and op not in _ATTRS_FIRST:
        text += " " + a
    return text + f" -> {result_type}"


def tensor_pad(
    x: str,
    low: Sequence[int],
    high: Sequence[int],
    pad_value: str,
    elem: str,
    src_type: str,
    dst_type: str,
) -> str:
    """`tensor.pad` of `x` with the SSA scalar `pad_value` (of type `elem`)."""
    idx = ", ".join(f"%i{d}: index" for d in range(len(low)))
    return (
        f"tensor.pad {x} low{_ints(low)} high{_ints(high)} {{\n"
        f"  ^bb0({idx}):\n    tensor.yield {pad_value} : {elem}\n"
        f"  }} : {src_type} to {dst_type}"
    )


def tensor_collapse(
    x: str, groups: Sequence[Sequence[int]], src_type: str, dst_type: str
) -> str:
    """`tensor.collapse_shape x [[0], [1, 2, 3]] : src into dst`."""
    reassoc = "[" + ", ".join(_ints(g) for g in groups) + "]"
    return f"tensor.collapse_shape {x} {reassoc} : {src_type} into {dst_type}"


def func_module(
    args: Sequence[Typed],
    result: Typed,
    lines: Sequence[str],
    blobs: Optional[Dict[str, str]] = None,
    name: str = "main",
) -> str:
    """`func.func @name(args) -> type { lines; return }` and the builtin
    resource blobs (`blob_hex` values) it refers to."""
    head = ", ".join(f"{n}: {t}" for n, t in args)
    text = (
        f"func.func @{name}({head}) -> {result[1]} {{\n"
        + "".join(f"  {line}\n" for line in lines)
        + f"  return {result[0]} : {result[1]}\n}}\n"
    )
    if blobs:
        entries = ",\n".join(f'      {k}: "{v}"' for k, v in blobs.items())
        text += (
            "\n{-#\n  dialect_resources: {\n    builtin: {\n"
            + entries
            + "\n    }\n  }\n#-}\n"
        )
    return text

"""Import an ONNX file into linalg-on-tensors MLIR in torch-mlir's output contract.

Every value is either a runtime tensor (an SSA value with a static shape) or
a constant known at import time (initializers, `Constant` nodes, and
anything computed only from them, such as the Shape -> Slice -> Concat ->
Reshape chains exporters emit). Constant subgraphs are folded with the
reference executor, so only the tensor computation on the model input is
emitted, with weights as `dense_resource` blobs named after the ONNX tensor
that holds them. Dynamic input dimensions must be fixed with `input_shapes`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import onnx
from onnx import numpy_helper

from . import lowering as L
from .errors import UnsupportedError
from ..ir.emitter import FX, ModuleWriter, Value
from .onnx_reference import (
    MissingOp,
    ReferenceError_,
    attributes,
    opset_version,
    run_node,
)
from .atomic_write import write_atomically


@dataclass
class Const:
    """A tensor known at import time, with the ONNX name it came from."""

    array: np.ndarray
    name: str


Item = Union[Value, Const, None]


class OnnxImporter:
    def __init__(
        self,
        model: onnx.ModelProto,
        input_shapes: Optional[Dict[str, Sequence[int]]] = None,
        flavour: str = FX,
        fold_batchnorm: bool = True,
        constant_inputs: Optional[Dict[str, Any]] = None,
    ):
        self.model = model
        self.constant_inputs = dict(constant_inputs or {})
        self.graph = model.graph
        self.opset = opset_version(model)
        self.input_shapes = dict(input_shapes or {})
        self.w = ModuleWriter(flavour)
        self.fold_batchnorm = fold_batchnorm
        self.env: Dict[str, Item] = {}
        self._emitted: Dict[int, Value] = {}  # id(Const) -> its constant Value
        self._bn_for_conv: Dict[str, onnx.NodeProto] = {}
        self._folded_bn: set = set()

    # ------------------------------------------------------------ driving
    def run(self) -> ModuleWriter:
        for init in self.graph.initializer:
            self.env[init.name] = Const(numpy_helper.to_array(init), init.name)
        for inp in self.graph.input:
            if inp.name in self.env:
                continue
            if inp.name in self.constant_inputs:
                value = np.asarray(self.constant_inputs[inp.name])
                dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[
                    inp.type.tensor_type.elem_type
                ]
                self.env[inp.name] = Const(value.astype(dtype), inp.name)
                continue
            self.env[inp.name] = self.w.argument(self._input_shape(inp))
        unknown = set(self.constant_inputs) - {i.name for i in self.graph.input}
        if unknown:
            raise ValueError(f"constant_inputs names no graph input: {sorted(unknown)}")
        if self.fold_batchnorm:
            self._find_conv_bn_pairs()
        for node in self.graph.node:
            self._node(node)
        results = []
        for out in self.graph.output:
            v = self.env.get(out.name)
            if not isinstance(v, Value):
                raise UnsupportedError(
                    "ONNX",
                    "output",
                    out.name,
                    "graph output does not depend on an input",
                )
            results.append(v)
        self.w.ret(*results)
        return self.w

    def _input_shape(self, inp: onnx.ValueInfoProto) -> List[int]:
        ttype = inp.type.tensor_type
        if ttype.elem_type != onnx.TensorProto.FLOAT:
            raise UnsupportedError(
                "ONNX",
                "input",
                inp.name,
                f"element type {_elem_name(ttype.elem_type)}; only FLOAT",
            )
        if inp.name in self.input_shapes:
            shape = [int(d) for d in self.input_shapes[inp.name]]
            declared = ttype.shape.dim
            if len(declared) != len(shape) or any(
                d.HasField("dim_value") and d.dim_value != s
                for d, s in zip(declared, shape)
            ):
                raise UnsupportedError(
                    "ONNX",
                    "input",
                    inp.name,
                    f"shape {shape} does not match the declared {_dims_text(declared)}",
                )
            return shape
        shape = []
        for d in ttype.shape.dim:
            if not d.HasField("dim_value") or d.dim_value <= 0:
                raise UnsupportedError(
                    "ONNX",
                    "input",
                    inp.name,
                    f"dynamic shape {_dims_text(ttype.shape.dim)}; fix it with "
                    f"input_shapes={{'{inp.name}': [...]}} (--input-shape on the "
                    "command line)",
                )
            shape.append(int(d.dim_value))
        return shape

    def _find_conv_bn_pairs(self) -> None:
        users: Dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                users[name] = users.get(name, 0) + 1
        outputs = {o.name for o in self.graph.output}
        producer = {o: n for n in self.graph.node for o in n.output}
        for node in self.graph.node:
            if node.op_type != "BatchNormalization" or len(node.output) != 1:
                continue
            conv = producer.get(node.input[0])
            if (
                conv is not None
                and conv.op_type == "Conv"
                and users.get(node.input[0], 0) == 1
                and node.input[0] not in outputs
                and all(
                    isinstance(self.env.get(n), Const) or n in self._const_names()
                    for n in node.input[1:5]
                )
            ):
                self._bn_for_conv[conv.output[0]] = node
                self._folded_bn.add(id(node))

    def _const_names(self) -> set:
        """Outputs of Constant nodes (known before anything is emitted)."""
        if not hasattr(self, "_const_name_cache"):
            self._const_name_cache = {
                o for n in self.graph.node if n.op_type == "Constant" for o in n.output
            }
        return self._const_name_cache

    def _node(self, node: onnx.NodeProto) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise self._unsupported(node, f"custom domain '{node.domain}'")
        ins: List[Item] = []
        for name in node.input:
            if not name:
                ins.append(None)
            elif name not in self.env:
                raise self._unsupported(
                    node, f"input '{name}' is not defined before it"
                )
            else:
                ins.append(self.env[name])
        if id(node) in self._folded_bn:
            self.env[node.output[0]] = ins[0]
            return
        present = [x for x in ins if x is not None]
        if (
            all(isinstance(x, Const) for x in present)
            and node.op_type not in _NEVER_FOLD
        ):
            outs = self._fold(node, ins)
        else:
            handler = getattr(self, f"_op_{node.op_type}", None)
            if handler is None:
                raise self._unsupported(node)
            try:
                outs = handler(node, ins, attributes(node))
            except UnsupportedError:
                raise
            except (ValueError, KeyError, IndexError, TypeError) as e:
                # Malformed or unexpected attributes/shapes: name the node.
                raise self._unsupported(node, f"{type(e).__name__}: {e}") from e
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        for name, val in zip(node.output, outs):
            if name:
                self.env[name] = val

    def _fold(self, node: onnx.NodeProto, ins: List[Item]) -> List[Const]:
        try:
            outs = run_node(
                node, [None if x is None else x.array for x in ins], self.opset
            )
        except MissingOp as e:
            raise self._unsupported(node) from e
        except ReferenceError_ as e:
            raise self._unsupported(node, str(e)) from e
        except Exception as e:  # a torch error on malformed input
            raise self._unsupported(node, f"cannot evaluate constant node: {e}") from e
        return [Const(o.numpy(), name) for o, name in zip(outs, node.output)]

    def _unsupported(self, node: onnx.NodeProto, why: str = "") -> UnsupportedError:
        return UnsupportedError("ONNX", node.op_type, node.name or node.output[0], why)

    @staticmethod
    def _loc(node: onnx.NodeProto) -> str:
        return node.name or node.output[0]

    # ---------------------------------------------------------- operands
    def _tensor(self, node, x: Item) -> Value:
        """A runtime operand; constants are materialized as weight constants."""
        if isinstance(x, Value):
            return x
        if isinstance(x, Const):
            if not np.issubdtype(x.array.dtype, np.floating):
                raise self._unsupported(node, f"non-float constant operand '{x.name}'")
            key = id(x)
            if key not in self._emitted:
                self._emitted[key] = self.w.constant(x.array.astype(np.float32), x.name)
            return self._emitted[key]
        raise self._unsupported(node, "missing operand")

    def _operand(self, node, x: Item):
        """For elementwise ops: single-element constants become scalars."""
        if isinstance(x, Const) and x.array.size == 1:
            return float(x.array.reshape(-1)[0])
        return self._tensor(node, x)

    def _const(self, node, x: Item, what: str) -> np.ndarray:
        if not isinstance(x, Const):
            raise self._unsupported(node, f"{what} must be a constant")
        return x.array

    def _runtime(self, node, x: Item) -> Value:
        if not isinstance(x, Value):
            raise self._unsupported(node, "expected a runtime tensor")
        return x

    def _elementwise(self, node, operands: List[Item], fn) -> Value:
        ops = [self._operand(node, x) for x in operands]
        shape_of = [
            x.array.shape if isinstance(x, Const) else x.shape for x in operands
        ]
        out_shape = tuple(np.broadcast_shapes(*shape_of))
        y = self.w.elementwise(ops, fn, self._loc(node), shape=out_shape)
        return y

    # ------------------------------------------------------ weight ops
    def _op_Conv(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        weight = self._const(node, ins[1], "Conv weight").astype(np.float32)
        bias = None
        bname = None
        if len(ins) > 2 and ins[2] is not None:
            bias = self._const(node, ins[2], "Conv bias").astype(np.float32)
            bname = ins[2].name
        wname = ins[1].name
        bn = self._bn_for_conv.get(node.output[0])
        if bn is not None:
            g, b, m, v = (self._bn_param(bn, i) for i in range(1, 5))
            eps = attributes(bn).get("epsilon", 1e-5)
            weight, bias = L.fold_batchnorm(weight, bias, g, b, m, v, eps)
            bname = bname or bn.input[2]
        nd = x.rank - 2
        strides = attrs.get("strides", [1] * nd)
        dil = attrs.get("dilations", [1] * nd)
        group = attrs.get("group", 1)
        pads = self._pads(node, attrs, x, weight.shape[2:], strides, dil)
        loc = self._loc(node)
        if nd == 2:
            return L.conv2d(
                self.w,
                x,
                weight,
                bias,
                strides,
                (pads[0], pads[1], pads[2], pads[3]),
                dil,
                group,
                wname,
                bname,
                loc,
            )
        if nd == 1:
            if group != 1:
                raise self._unsupported(node, "grouped 1-D convolution")
            return L.conv1d(
                self.w,
                x,
                weight,
                bias,
                strides[0],
                (pads[0], pads[1]),
                dil[0],
                wname,
                bname,
                loc,
            )
        raise self._unsupported(node, f"{nd}-D convolution")

    def _op_ConvTranspose(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        weight = self._const(node, ins[1], "ConvTranspose weight").astype(np.float32)
        if x.rank != 4:
            raise self._unsupported(node, f"{x.rank - 2}-D transposed convolution")
        if attrs.get("group", 1) != 1:
            raise self._unsupported(node, "grouped transposed convolution")
        if attrs.get("auto_pad", "NOTSET") != "NOTSET" or "output_shape" in attrs:
            raise self._unsupported(node, "auto_pad/output_shape (give explicit pads)")
        bias, bname = None, None
        if len(ins) > 2 and ins[2] is not None:
            bias = self._const(node, ins[2], "ConvTranspose bias").astype(np.float32)
            bname = ins[2].name
        p = list(attrs.get("pads", [0, 0, 0, 0]))
        try:
            return L.conv_transpose2d(
                self.w,
                x,
                weight,
                bias,
                attrs.get("strides", [1, 1]),
                (p[0], p[1], p[2], p[3]),
                attrs.get("dilations", [1, 1]),
                attrs.get("output_padding", [0, 0]),
                ins[1].name,
                bname,
                self._loc(node),
            )
        except ValueError as e:
            raise self._unsupported(node, str(e)) from e

    def _op_Resize(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        mode = attrs.get("mode", "nearest")
        default_coord = "half_pixel" if self.opset >= 11 else "asymmetric"
        coord = attrs.get("coordinate_transformation_mode", default_coord)
        nearest = attrs.get("nearest_mode", "round_prefer_floor")
        if (
            mode != "nearest"
            or coord != "asymmetric"
            or (self.opset >= 11 and nearest != "floor")
        ):
            raise self._unsupported(
                node,
                f"mode={mode}, coordinate_transformation_mode={coord}, "
                f"nearest_mode={nearest} (only nearest/asymmetric/floor)",
            )
        if self.opset >= 11:
            scales = ins[2] if len(ins) > 2 else None
            sizes = ins[3] if len(ins) > 3 else None
            if isinstance(scales, Const) and scales.array.size:
                factors = scales.array.reshape(-1).tolist()
            elif isinstance(sizes, Const):
                factors = [
                    o / d for o, d in zip(sizes.array.reshape(-1).tolist(), x.shape)
                ]
            else:
                raise self._unsupported(node, "scales/sizes must be constants")
        elif self.opset >= 9 or node.op_type == "Resize":
            factors = self._const(node, ins[1], "scales").reshape(-1).tolist()
        else:
            factors = list(attrs["scales"])
        if len(factors) != x.rank or any(f != int(f) or f < 1 for f in factors):
            raise self._unsupported(node, f"scales {factors} (only integer upsampling)")
        return L.upsample_nearest(self.w, x, [int(f) for f in factors], self._loc(node))

    _op_Upsample = _op_Resize

    def _bn_param(self, bn: onnx.NodeProto, i: int) -> np.ndarray:
        name = bn.input[i]
        item = self.env.get(name)
        if item is None and name in self._const_names():
            # The BN's Constant nodes may come after the Conv in node order.
            producer = next(n for n in self.graph.node if name in n.output)
            self._node(producer)
            item = self.env.get(name)
        if not isinstance(item, Const):
            raise self._unsupported(
                bn, "BatchNormalization parameters must be constants"
            )
        return item.array.astype(np.float32)

    def _pads(self, node, attrs, x: Value, kernel, strides, dil) -> List[int]:
        """[top, left, bottom, right] (or [begin, end] in 1-D), auto_pad resolved."""
        nd = len(kernel)
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            begins, ends = [], []
            for i in range(nd):
                size = x.shape[2 + i]
                out = -(-size // strides[i])
                total = max(
                    0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - size
                )
                small, big = total // 2, total - total // 2
                begins.append(small if auto == "SAME_UPPER" else big)
                ends.append(big if auto == "SAME_UPPER" else small)
            return begins + ends
        if auto == "VALID":
            return [0] * (2 * nd)
        pads = list(attrs.get("pads", [0] * (2 * nd)))
        if len(pads) != 2 * nd:
            raise self._unsupported(node, f"pads {pads} for a {nd}-D window")
        return pads

    def _op_BatchNormalization(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        if len(node.output) > 1 and any(node.output[1:]):
            raise self._unsupported(node, "training-mode outputs")
        params = [
            self._const(node, ins[i], "BatchNormalization parameter")
            for i in range(1, 5)
        ]
        g, b, m, v = (p.astype(np.float32) for p in params)
        names = [ins[3].name, ins[4].name, ins[1].name, ins[2].name]
        return L.batchnorm(
            self.w, x, g, b, m, v, attrs.get("epsilon", 1e-5), names, self._loc(node)
        )

    def _op_MatMul(self, node, ins, attrs):
        a, b = ins
        loc = self._loc(node)
        if isinstance(a, Value) and isinstance(b, Const) and b.array.ndim == 2:
            return L.matmul_const_rhs(
                self.w, a, b.array.astype(np.float32), b.name, loc
            )
        return L.batched_matmul(
            self.w, self._tensor(node, a), self._tensor(node, b), loc
        )

    def _op_Gemm(self, node, ins, attrs):
        a = self._runtime(node, ins[0])
        if not isinstance(ins[1], Const):
            raise self._unsupported(node, "Gemm with a runtime B")
        if attrs.get("transA", 0):
            a = self.w.transpose(a, [1, 0])
        weight = ins[1].array.astype(np.float32)
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        bias, bname = None, None
        if len(ins) > 2 and ins[2] is not None:
            c = self._const(node, ins[2], "Gemm C").astype(np.float32)
            n = weight.shape[0] if attrs.get("transB", 0) else weight.shape[1]
            if c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
                raise self._unsupported(node, f"Gemm C of shape {c.shape} (bias only)")
            bias = np.broadcast_to(c.reshape(-1), (n,)) * np.float32(beta / alpha)
            bname = ins[2].name
        layout = "NK" if attrs.get("transB", 0) else "KN"
        y = L.linear(
            self.w, a, weight, bias, ins[1].name, bname, self._loc(node), layout
        )
        if alpha != 1.0:
            y = L.binary(self.w, "mul", y, float(alpha), self._loc(node))
        return y

    # ---------------------------------------------------- elementwise ops
    def _binary(kind):  # noqa: N805 - a factory used in the class body
        def op(self, node, ins, attrs):
            return self._elementwise(node, list(ins[:2]), L.BINARY[kind])

        return op

    _op_Add = _binary("add")
    _op_Sub = _binary("sub")
    _op_Mul = _binary("mul")
    _op_Div = _binary("div")

    def _op_Max(self, node, ins, attrs):
        return self._variadic(node, ins, "max")

    def _op_Min(self, node, ins, attrs):
        return self._variadic(node, ins, "min")

    def _op_Sum(self, node, ins, attrs):
        return self._variadic(node, ins, "add")

    def _variadic(self, node, ins, kind):
        y = ins[0]
        for x in ins[1:]:
            y = self._elementwise(node, [y, x], L.BINARY[kind])
        return self._tensor(node, y)

    def _op_Pow(self, node, ins, attrs):
        x, e = ins
        if isinstance(e, Const) and e.array.size == 1:
            return L.power(
                self.w,
                self._runtime(node, x),
                float(e.array.reshape(-1)[0]),
                self._loc(node),
            )
        return self._elementwise(node, [x, e], lambda b, a, c: b.powf(a, c))

    def _unary(fn):  # noqa: N805
        def op(self, node, ins, attrs):
            return self.w.elementwise(
                [self._runtime(node, ins[0])], fn, self._loc(node)
            )

        return op

    _op_Relu = _unary(lambda b, a: b.max(a, b.const(0.0)))
    _op_Sigmoid = _unary(lambda b, a: b.sigmoid(a))
    _op_Tanh = _unary(lambda b, a: b.math("tanh", a))
    _op_Sqrt = _unary(lambda b, a: b.math("sqrt", a))
    _op_Exp = _unary(lambda b, a: b.math("exp", a))
    _op_Erf = _unary(lambda b, a: b.math("erf", a))
    _op_Neg = _unary(lambda b, a: b.neg(a))
    _op_Abs = _unary(lambda b, a: b.math("absf", a))
    _op_Reciprocal = _unary(lambda b, a: b.div(b.const(1.0), a))

    def _op_HardSwish(self, node, ins, attrs):
        return L.hardswish(self.w, self._runtime(node, ins[0]), self._loc(node))

    def _op_HardSigmoid(self, node, ins, attrs):
        return L.hardsigmoid(
            self.w,
            self._runtime(node, ins[0]),
            attrs.get("alpha", 0.2),
            attrs.get("beta", 0.5),
            self._loc(node),
        )

    def _op_LeakyRelu(self, node, ins, attrs):
        slope = attrs.get("alpha", 0.01)

        def body(b, a):
            zero = b.const(0.0)
            return b.add(b.max(a, zero), b.mul(b.min(a, zero), b.const(slope)))

        return self.w.elementwise([self._runtime(node, ins[0])], body, self._loc(node))

    def _op_Clip(self, node, ins, attrs):
        if self.opset < 11:
            lo, hi = attrs.get("min"), attrs.get("max")
        else:
            lo = hi = None
            if len(ins) > 1 and ins[1] is not None:
                lo = float(self._const(node, ins[1], "Clip min").reshape(-1)[0])
            if len(ins) > 2 and ins[2] is not None:
                hi = float(self._const(node, ins[2], "Clip max").reshape(-1)[0])
        return L.clamp(self.w, self._runtime(node, ins[0]), lo, hi, self._loc(node))

    def _op_Identity(self, node, ins, attrs):
        return ins[0]

    def _op_Dropout(self, node, ins, attrs):
        if len(node.output) > 1 and node.output[1]:
            raise self._unsupported(node, "the mask output")
        return ins[0]

    def _op_Cast(self, node, ins, attrs):
        if attrs.get("to") != onnx.TensorProto.FLOAT:
            raise self._unsupported(
                node, "cast of a runtime tensor to a non-float type"
            )
        return ins[0]

    # ------------------------------------------------------- reductions
    def _reduce_axes(
        self, node, ins, attrs, since: int, rank: int
    ) -> Optional[List[int]]:
        if self.opset >= since:
            if len(ins) > 1 and ins[1] is not None:
                return [int(a) for a in self._const(node, ins[1], "axes").reshape(-1)]
            return None
        return attrs.get("axes")

    def _reduce(self, node, ins, attrs, since: int, kind: str):
        x = self._runtime(node, ins[0])
        axes = self._reduce_axes(node, ins, attrs, since, x.rank)
        if not axes:
            if axes is not None and attrs.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.rank))
        keep = bool(attrs.get("keepdims", 1))
        loc = self._loc(node)
        if kind == "mean":
            return L.mean(self.w, x, axes, keep, loc)
        return self.w.reduce(x, [a % x.rank for a in axes], kind, keep, loc)

    def _op_ReduceMean(self, node, ins, attrs):
        return self._reduce(node, ins, attrs, 18, "mean")

    def _op_ReduceSum(self, node, ins, attrs):
        return self._reduce(node, ins, attrs, 13, "sum")

    def _op_ReduceMax(self, node, ins, attrs):
        return self._reduce(node, ins, attrs, 18, "max")

    def _op_Softmax(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        if self.opset < 13:
            axis = attrs.get("axis", 1) % x.rank
            axes = list(range(axis, x.rank))
        else:
            axes = [attrs.get("axis", -1) % x.rank]
        return L.softmax(self.w, x, axes, self._loc(node))

    def _op_LayerNormalization(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        axis = attrs.get("axis", -1) % x.rank
        g = self._const(node, ins[1], "scale").astype(np.float32)
        b = None
        if len(ins) > 2 and ins[2] is not None:
            b = self._const(node, ins[2], "bias").astype(np.float32)
        if g.shape != x.shape[axis:] or (b is not None and b.shape != x.shape[axis:]):
            raise self._unsupported(node, "scale/bias must have the normalized shape")
        names = [ins[1].name, ins[2].name if b is not None else ""]
        return L.layer_norm(
            self.w,
            x,
            x.rank - axis,
            g,
            b,
            attrs.get("epsilon", 1e-5),
            names,
            self._loc(node),
        )

    # ---------------------------------------------------------- pooling
    def _op_GlobalAveragePool(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        return L.mean(self.w, x, list(range(2, x.rank)), True, self._loc(node))

    def _op_GlobalMaxPool(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        return self.w.reduce(x, list(range(2, x.rank)), "max", True, self._loc(node))

    def _pool_args(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        if x.rank != 4:
            raise self._unsupported(node, f"pooling of a rank-{x.rank} tensor")
        k = list(attrs["kernel_shape"])
        s = list(attrs.get("strides", [1, 1]))
        d = list(attrs.get("dilations", [1, 1]))
        p = self._pads(node, attrs, x, k, s, d)
        return x, k, s, d, (p[0], p[1], p[2], p[3])

    def _op_MaxPool(self, node, ins, attrs):
        if len(node.output) > 1 and node.output[1]:
            raise self._unsupported(node, "the Indices output")
        x, k, s, d, p = self._pool_args(node, ins, attrs)
        return L.max_pool2d(
            self.w, x, k, s, p, d, bool(attrs.get("ceil_mode", 0)), self._loc(node)
        )

    def _op_AveragePool(self, node, ins, attrs):
        x, k, s, d, p = self._pool_args(node, ins, attrs)
        if d != [1, 1]:
            raise self._unsupported(node, "dilated average pooling")
        return L.avg_pool2d(
            self.w,
            x,
            k,
            s,
            p,
            bool(attrs.get("ceil_mode", 0)),
            bool(attrs.get("count_include_pad", 0)),
            None,
            self._loc(node),
        )

    # ------------------------------------------------------ data motion
    def _op_If(self, node, ins, attrs):
        """A branch chosen at import time: its nodes are imported inline."""
        cond = ins[0]
        if not isinstance(cond, Const):
            raise self._unsupported(
                node,
                "the condition must be known at import time (fix the inputs "
                "it depends on with constant_inputs)",
            )
        taken = bool(np.asarray(cond.array).reshape(-1)[0])
        branch = attrs["then_branch" if taken else "else_branch"]
        for init in branch.initializer:
            self.env[init.name] = Const(numpy_helper.to_array(init), init.name)
        for sub in branch.node:
            self._node(sub)
        return [self.env[o.name] for o in branch.output]

    def _op_Split(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        axis = attrs.get("axis", 0) % x.rank
        n = x.shape[axis]
        if self.opset >= 13 and len(ins) > 1 and ins[1] is not None:
            sizes = [int(v) for v in self._const(node, ins[1], "split").reshape(-1)]
        elif "split" in attrs:
            sizes = list(attrs["split"])
        else:
            parts = attrs.get("num_outputs", len(node.output))
            chunk = -(-n // parts)
            sizes = [min(chunk, n - i * chunk) for i in range(parts)]
        outs, start = [], 0
        for size in sizes:
            offsets = [0] * x.rank
            shape = list(x.shape)
            offsets[axis], shape[axis] = start, size
            outs.append(self.w.extract_slice(x, offsets, shape))
            start += size
        return outs

    def _op_Shape(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        shape = np.array(x.shape, dtype=np.int64)
        start, end = attrs.get("start", 0), attrs.get("end", None)
        return Const(shape[start:end], node.output[0])

    def _op_Reshape(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        if self.opset >= 5:
            shape = [
                int(d) for d in self._const(node, ins[1], "Reshape shape").reshape(-1)
            ]
        else:
            shape = list(attrs["shape"])
        out = []
        for i, d in enumerate(shape):
            out.append(x.shape[i] if d == 0 and not attrs.get("allowzero", 0) else d)
        if -1 in out:
            known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
            out[out.index(-1)] = x.size // max(known, 1)
        if int(np.prod(out, dtype=np.int64)) != x.size:
            raise self._unsupported(node, f"cannot reshape {list(x.shape)} to {shape}")
        return self.w.reshape(x, out)

    def _op_Flatten(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        axis = attrs.get("axis", 1) % (x.rank + 1)
        lead = int(np.prod(x.shape[:axis], dtype=np.int64))
        return self.w.reshape(x, (lead, x.size // max(lead, 1)))

    def _op_Transpose(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        perm = attrs.get("perm", list(reversed(range(x.rank))))
        return self.w.transpose(x, perm, self._loc(node))

    def _op_Squeeze(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        axes = self._reduce_axes(node, ins, attrs, 13, x.rank)
        if axes is None:
            shape = [d for d in x.shape if d != 1]
        else:
            axes = {a % x.rank for a in axes}
            shape = [d for i, d in enumerate(x.shape) if i not in axes]
        return self.w.reshape(x, shape)

    def _op_Unsqueeze(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        axes = self._reduce_axes(node, ins, attrs, 13, x.rank) or []
        rank = x.rank + len(axes)
        shape = list(x.shape)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        return self.w.reshape(x, shape)

    def _op_Concat(self, node, ins, attrs):
        xs = [self._tensor(node, x) for x in ins if x is not None]
        return self.w.concat(xs, attrs["axis"] % xs[0].rank)

    def _op_Slice(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        if self.opset < 10:
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:

            def ints(i, default):
                if len(ins) > i and ins[i] is not None:
                    return [
                        int(v)
                        for v in self._const(node, ins[i], "Slice bound").reshape(-1)
                    ]
                return default

            starts, ends = ints(1, None), ints(2, None)
            axes = ints(3, list(range(len(starts))))
            steps = ints(4, [1] * len(starts))
        offsets, sizes, strides = [0] * x.rank, list(x.shape), [1] * x.rank
        for s, e, a, st in zip(starts, ends, axes, steps):
            a %= x.rank
            if st <= 0:
                raise self._unsupported(node, "non-positive Slice steps")
            s, e, st = slice(s, e, st).indices(x.shape[a])
            offsets[a], strides[a] = s, st
            sizes[a] = max(0, -(-(e - s) // st))
        return self.w.extract_slice(x, offsets, sizes, strides)

    def _op_Gather(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        idx = self._const(node, ins[1], "Gather indices").astype(np.int64)
        axis = attrs.get("axis", 0) % x.rank
        flat = [int(i) % x.shape[axis] for i in idx.reshape(-1)]
        pieces = []
        for i in flat:
            off = [0] * x.rank
            size = list(x.shape)
            off[axis], size[axis] = i, 1
            pieces.append(self.w.extract_slice(x, off, size))
        y = self.w.concat(pieces, axis) if len(pieces) > 1 else pieces[0]
        shape = list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1 :])
        return self.w.reshape(y, shape)

    def _op_Pad(self, node, ins, attrs):
        x = self._runtime(node, ins[0])
        mode = attrs.get("mode", "constant")
        if mode not in ("constant", "reflect"):
            raise self._unsupported(node, f"mode {mode!r}")
        if self.opset < 11:
            pads, value = list(attrs["pads"]), float(attrs.get("value", 0.0))
        else:
            pads = [int(p) for p in self._const(node, ins[1], "pads").reshape(-1)]
            value = 0.0
            if len(ins) > 2 and ins[2] is not None:
                value = float(
                    self._const(node, ins[2], "constant_value").reshape(-1)[0]
                )
            if len(ins) > 3 and ins[3] is not None:
                raise self._unsupported(node, "the axes input")
        if any(p < 0 for p in pads):
            raise self._unsupported(node, "negative pads")
        if mode == "reflect":
            if any(p >= d for p, d in zip(pads, list(x.shape) * 2)):
                raise self._unsupported(node, "reflect pads as large as the dimension")
            return L.reflect_pad(
                self.w, x, pads[: x.rank], pads[x.rank :], self._loc(node)
            )
        return self.w.pad(x, pads[: x.rank], pads[x.rank :], value)


# Ops never folded even when all their inputs are constants: an If's inputs
# are only its condition, its branches may still compute on runtime values.
_NEVER_FOLD = {"If"}


def _elem_name(elem_type: int) -> str:
    return onnx.TensorProto.DataType.Name(elem_type)


def _dims_text(dims) -> str:
    return (
        "["
        + ", ".join(
            str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
            for d in dims
        )
        + "]"
    )


def import_onnx(
    path: Union[str, os.PathLike, onnx.ModelProto],
    output: Optional[Union[str, os.PathLike]] = None,
    input_shapes: Optional[Dict[str, Sequence[int]]] = None,
    flavour: str = FX,
    fold_batchnorm: bool = True,
    constant_inputs: Optional[Dict[str, Any]] = None,
) -> str:
    """Import an ONNX model as linalg-on-tensors MLIR text with a `@main`.

    input_shapes fixes dynamic input dimensions ({"x": [1, 3, 48, 320]}).
    constant_inputs turns graph inputs into import-time constants (Silero
    VAD's sample rate {"sr": 16000}), which folds what depends on them,
    including the choice of an If branch.
    With fold_batchnorm, a BatchNormalization that is the only user of a
    Conv is folded into the Conv's weight and bias. When `output` is given
    the text is also written there atomically (nothing is written on error).
    """
    model = path if isinstance(path, onnx.ModelProto) else onnx.load(os.fspath(path))
    writer = OnnxImporter(
        model, input_shapes, flavour, fold_batchnorm, constant_inputs
    ).run()
    if output is not None:
        write_atomically(output, writer.write)
        with open(output) as f:
            return f.read()
    return writer.text()


def parse_shape_args(items: Sequence[str]) -> Dict[str, List[int]]:
    """`x=1,3,48,320` strings to {"x": [1, 3, 48, 320]}."""
    shapes = {}
    for item in items:
        name, _, dims = item.rpartition("=")
        if not name:
            raise ValueError(f"--input-shape wants NAME=D0,D1,..., got {item!r}")
        shapes[name] = [int(d) for d in dims.replace("x", ",").split(",") if d]
    return shapes


def parse_constant_args(items: Sequence[str]) -> Dict[str, np.ndarray]:
    """`sr=16000` strings to {"sr": array(16000)} (a scalar when one value)."""
    values = {}
    for item in items:
        name, _, text = item.rpartition("=")
        if not name:
            raise ValueError(f"--constant-input wants NAME=V0,V1,..., got {item!r}")
        numbers = [float(v) for v in text.split(",") if v]
        arr = np.array(numbers if len(numbers) != 1 else numbers[0])
        values[name] = arr
    return values

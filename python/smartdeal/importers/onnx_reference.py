"""An ONNX executor on PyTorch, node by node: the numerical reference for ONNX imports.

Debian has no onnxruntime for Python, so the ONNX importer is checked against
this: each node is translated to the PyTorch call that means the same thing
(F.conv2d for Conv, torch.matmul for MatMul, ...), independently of how the
importer lowers it. The importer also uses it to fold subgraphs whose inputs
are all constants (shape arithmetic, weight preprocessing).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

Tensor = torch.Tensor


class ReferenceError_(RuntimeError):
    """The reference executor cannot run a node (op or attribute unknown)."""


class MissingOp(ReferenceError_):
    """The reference executor has no translation for an op type at all."""


def attributes(node: onnx.NodeProto) -> Dict[str, Any]:
    """Node attributes as Python values (tensors as numpy arrays)."""
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        out[a.name] = v
    return out


def opset_version(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return 1


def to_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    # np.ascontiguousarray would turn a 0-d array into a 1-d one.
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        arr = arr.copy(order="C")
    return torch.from_numpy(arr)


def _ints(x: Optional[Tensor]) -> Optional[List[int]]:
    return None if x is None else [int(v) for v in x.reshape(-1).tolist()]


_ONNX_TO_TORCH_DTYPE = {
    1: torch.float32,
    2: torch.uint8,
    3: torch.int8,
    5: torch.int16,
    6: torch.int32,
    7: torch.int64,
    9: torch.bool,
    10: torch.float16,
    11: torch.float64,
}


def _conv_pads(attrs, x: Tensor, w: Tensor) -> List[int]:
    """ONNX pads [b1, b2, ..., e1, e2, ...], resolving auto_pad."""
    nd = x.dim() - 2
    auto = attrs.get("auto_pad", "NOTSET")
    strides = attrs.get("strides", [1] * nd)
    dil = attrs.get("dilations", [1] * nd)
    kernel = attrs.get("kernel_shape", list(w.shape[2:]) if w is not None else None)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(nd):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - size)
            small, big = total // 2, total - total // 2
            begins.append(small if auto == "SAME_UPPER" else big)
            ends.append(big if auto == "SAME_UPPER" else small)
        return begins + ends
    if auto == "VALID":
        return [0] * (2 * nd)
    return list(attrs.get("pads", [0] * (2 * nd)))


def _pad_nd(x: Tensor, pads: Sequence[int], value: float) -> Tensor:
    nd = len(pads) // 2
    torch_pads: List[int] = []
    for i in reversed(range(nd)):
        torch_pads += [pads[i], pads[nd + i]]
    if not any(torch_pads):
        return x
    return F.pad(x, torch_pads, value=value)


def _conv(ins, attrs, opset):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    nd = x.dim() - 2
    pads = _conv_pads(attrs, x, w)
    x = _pad_nd(x, pads, 0.0)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    return fn(
        x,
        w,
        b,
        stride=attrs.get("strides", [1] * nd),
        dilation=attrs.get("dilations", [1] * nd),
        groups=attrs.get("group", 1),
    )


def _conv_transpose(ins, attrs, opset):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    nd = x.dim() - 2
    if (
        nd != 2
        or attrs.get("auto_pad", "NOTSET") != "NOTSET"
        or "output_shape" in attrs
    ):
        raise ReferenceError_("ConvTranspose other than 2-D with explicit pads")
    pads = attrs.get("pads", [0] * 4)
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise ReferenceError_("asymmetric ConvTranspose pads")
    return F.conv_transpose2d(
        x,
        w,
        b,
        stride=attrs.get("strides", [1, 1]),
        padding=pads[:2],
        output_padding=attrs.get("output_padding", [0, 0]),
        groups=attrs.get("group", 1),
        dilation=attrs.get("dilations", [1, 1]),
    )


def _resize(ins, attrs, opset):
    """Nearest, asymmetric, floor: out[i] = in[floor(i / scale)]."""
    x = ins[0]
    mode = attrs.get("mode", "nearest")
    coord = attrs.get(
        "coordinate_transformation_mode", "half_pixel" if opset >= 11 else "asymmetric"
    )
    nearest = attrs.get("nearest_mode", "round_prefer_floor")
    if (
        mode != "nearest"
        or coord != "asymmetric"
        or (opset >= 11 and nearest != "floor")
    ):
        raise ReferenceError_(
            f"Resize mode={mode} coordinate={coord} nearest={nearest}"
        )
    if opset >= 11:
        scales = (
            ins[2] if len(ins) > 2 and ins[2] is not None and ins[2].numel() else None
        )
        sizes = ins[3] if len(ins) > 3 and ins[3] is not None else None
    else:
        scales, sizes = ins[1], None
    if scales is not None:
        scale = [float(v) for v in scales.tolist()]
        out = [int(np.floor(d * f)) for d, f in zip(x.shape, scale)]
    else:
        out = _ints(sizes)
        scale = [o / d for o, d in zip(out, x.shape)]
    for axis, (o, f) in enumerate(zip(out, scale)):
        idx = torch.clamp(
            torch.floor(torch.arange(o, dtype=torch.float64) / f).to(torch.int64),
            max=x.shape[axis] - 1,
        )
        x = torch.index_select(x, axis, idx)
    return x


def _batchnorm(ins, attrs, opset):
    x, g, b, m, v = ins[:5]
    return F.batch_norm(x, m, v, g, b, False, 0.0, attrs.get("epsilon", 1e-5))


def _clip(ins, attrs, opset):
    if opset < 11:
        lo, hi = attrs.get("min", None), attrs.get("max", None)
    else:
        lo = float(ins[1]) if len(ins) > 1 and ins[1] is not None else None
        hi = float(ins[2]) if len(ins) > 2 and ins[2] is not None else None
    return torch.clamp(ins[0], lo, hi)


def _pool(kind):
    def run(ins, attrs, opset):
        x = ins[0]
        nd = x.dim() - 2
        k = attrs["kernel_shape"]
        strides = attrs.get("strides", [1] * nd)
        pads = _conv_pads(dict(attrs, strides=strides), x, None)
        ceil = bool(attrs.get("ceil_mode", 0))
        if nd != 2:
            raise ReferenceError_(f"{kind} pooling of rank {x.dim()}")
        if kind == "max":
            xp = _pad_nd(x, pads, float("-inf"))
            return F.max_pool2d(
                xp, k, strides, 0, attrs.get("dilations", [1, 1]), ceil_mode=ceil
            )
        include = bool(attrs.get("count_include_pad", 0))
        if pads[0] == pads[2] and pads[1] == pads[3]:
            return F.avg_pool2d(x, k, strides, pads[:2], ceil, include)
        # Asymmetric padding: pad explicitly and count the pads or not.
        xp = _pad_nd(x, pads, 0.0)
        s = F.avg_pool2d(xp, k, strides, 0, ceil, True, divisor_override=1)
        if include:
            return s / float(k[0] * k[1])
        ones = _pad_nd(torch.ones_like(x[:1, :1]), pads, 0.0)
        cnt = F.avg_pool2d(ones, k, strides, 0, ceil, True, divisor_override=1)
        return s / cnt

    return run


def _reshape(ins, attrs, opset):
    x = ins[0]
    shape = _ints(ins[1]) if opset >= 5 else list(attrs["shape"])
    allowzero = attrs.get("allowzero", 0)
    out = []
    for i, d in enumerate(shape):
        out.append(x.shape[i] if d == 0 and not allowzero else d)
    return x.reshape(out)


def _flatten(ins, attrs, opset):
    x = ins[0]
    axis = attrs.get("axis", 1) % (x.dim() + 1) if x.dim() else 0
    lead = int(np.prod(x.shape[:axis])) if axis else 1
    return x.reshape(lead, -1)


def _axes(ins, attrs, opset, since: int, idx: int = 1) -> Optional[List[int]]:
    if opset >= since:
        return _ints(ins[idx]) if len(ins) > idx and ins[idx] is not None else None
    return attrs.get("axes")


def _squeeze(ins, attrs, opset):
    x = ins[0]
    axes = _axes(ins, attrs, opset, 13)
    if axes is None:
        return x.reshape([d for d in x.shape if d != 1])
    axes = sorted(a % x.dim() for a in axes)
    return x.reshape([d for i, d in enumerate(x.shape) if i not in axes])


def _unsqueeze(ins, attrs, opset):
    x = ins[0]
    axes = _axes(ins, attrs, opset, 13)
    rank = x.dim() + len(axes)
    shape = list(x.shape)
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return x.reshape(shape)


def _slice(ins, attrs, opset):
    x = ins[0]
    if opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = (
            _ints(ins[3])
            if len(ins) > 3 and ins[3] is not None
            else list(range(len(starts)))
        )
        steps = (
            _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        )
    idx = [slice(None)] * x.dim()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= x.dim()
        n = x.shape[a]
        s, e, st = slice(s, e, st).indices(n) if st > 0 else (s, e, st)
        if st < 0:
            raise ReferenceError_("negative Slice steps")
        idx[a] = slice(s, e, st)
    return x[tuple(idx)]


def _softmax(ins, attrs, opset):
    x = ins[0]
    if opset < 13:
        axis = attrs.get("axis", 1) % x.dim()
        shape = x.shape
        flat = x.reshape(int(np.prod(shape[:axis])) if axis else 1, -1)
        return torch.softmax(flat, -1).reshape(shape)
    return torch.softmax(x, attrs.get("axis", -1))


def _reduce(fn, since_axes_input: int):
    def run(ins, attrs, opset):
        x = ins[0]
        axes = _axes(ins, attrs, opset, since_axes_input)
        keep = bool(attrs.get("keepdims", 1))
        if axes is None or len(axes) == 0:
            if attrs.get("noop_with_empty_axes", 0) and axes is not None:
                return x
            axes = list(range(x.dim()))
        return fn(x, dim=[a % x.dim() for a in axes], keepdim=keep)

    return run


def _gemm(ins, attrs, opset):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if attrs.get("transA", 0):
        a = a.t()
    if attrs.get("transB", 0):
        b = b.t()
    y = attrs.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + attrs.get("beta", 1.0) * c
    return y


def _gather(ins, attrs, opset):
    x, idx = ins[0], ins[1].to(torch.int64)
    axis = attrs.get("axis", 0) % x.dim()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    return torch.index_select(x, axis, idx.reshape(-1)).reshape(
        list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1 :])
    )


def _constant(ins, attrs, opset):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            return to_tensor(np.asarray(attrs[key]))
    raise ReferenceError_("Constant without a supported value attribute")


def _constant_of_shape(ins, attrs, opset):
    value = attrs.get("value", np.zeros(1, np.float32))
    return torch.full(
        _ints(ins[0]), to_tensor(value).reshape(-1)[0].item(), dtype=to_tensor(value).dtype
    )


def _pad(ins, attrs, opset):
    x = ins[0]
    if opset < 11:
        pads, value = attrs["pads"], attrs.get("value", 0.0)
    else:
        pads = _ints(ins[1])
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
        if len(ins) > 3 and ins[3] is not None:
            raise ReferenceError_("Pad with axes")
    mode = attrs.get("mode", "constant")
    if mode == "reflect":
        nd = x.dim()
        for axis in range(nd):
            lo, hi, n = pads[axis], pads[nd + axis], x.shape[axis]
            if lo or hi:
                idx = (
                    list(range(lo, 0, -1))
                    + list(range(n))
                    + list(range(n - 2, n - 2 - hi, -1))
                )
                x = torch.index_select(x, axis, torch.tensor(idx, dtype=torch.int64))
        return x
    if mode != "constant":
        raise ReferenceError_("Pad mode " + mode)
    return _pad_nd_full(x, pads, value)


def _split(ins, attrs, opset):
    x = ins[0]
    axis = attrs.get("axis", 0) % x.dim()
    if opset >= 13 and len(ins) > 1 and ins[1] is not None:
        sizes = _ints(ins[1])
    elif "split" in attrs:
        sizes = list(attrs["split"])
    else:
        n = attrs["num_outputs"]
        chunk = -(-x.shape[axis] // n)
        sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(n)]
    return list(torch.split(x, sizes, axis))


def _pad_nd_full(x: Tensor, pads: Sequence[int], value: float) -> Tensor:
    nd = x.dim()
    torch_pads: List[int] = []
    for i in reversed(range(nd)):
        torch_pads += [pads[i], pads[nd + i]]
    return F.pad(x, torch_pads, value=value)


def _layernorm(ins, attrs, opset):
    x, g = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    axis = attrs.get("axis", -1) % x.dim()
    return F.layer_norm(x, x.shape[axis:], g, b, attrs.get("epsilon", 1e-5))


def _hardsigmoid(ins, attrs, opset):
    return torch.clamp(attrs.get("alpha", 0.2) * ins[0] + attrs.get("beta", 0.5), 0, 1)


def _cast(ins, attrs, opset):
    return ins[0].to(_ONNX_TO_TORCH_DTYPE[attrs["to"]])


def _binary(fn):
    def run(ins, attrs, opset):
        a, b = ins[0], ins[1]
        if a.dtype != b.dtype:
            common = torch.promote_types(a.dtype, b.dtype)
            a, b = a.to(common), b.to(common)
        return fn(a, b)

    return run


def _div(a: Tensor, b: Tensor) -> Tensor:
    if a.dtype.is_floating_point:
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


OPS: Dict[str, Callable[[List[Tensor], Dict[str, Any], int], Any]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Resize": _resize,
    "Upsample": _resize,
    "BatchNormalization": _batchnorm,
    "Relu": lambda i, a, o: torch.relu(i[0]),
    "LeakyRelu": lambda i, a, o: F.leaky_relu(i[0], a.get("alpha", 0.01)),
    "Sigmoid": lambda i, a, o: torch.sigmoid(i[0]),
    "Tanh": lambda i, a, o: torch.tanh(i[0]),
    "HardSigmoid": _hardsigmoid,
    "HardSwish": lambda i, a, o: F.hardswish(i[0]),
    "Erf": lambda i, a, o: torch.erf(i[0]),
    "Clip": _clip,
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _binary(_div),
    "Pow": lambda i, a, o: torch.pow(i[0], i[1].to(i[0].dtype)),
    "Max": lambda i, a, o: torch.stack(torch.broadcast_tensors(*i)).max(0).values,
    "Min": lambda i, a, o: torch.stack(torch.broadcast_tensors(*i)).min(0).values,
    "Equal": _binary(torch.eq),
    "Sqrt": lambda i, a, o: torch.sqrt(i[0]),
    "Exp": lambda i, a, o: torch.exp(i[0]),
    "Neg": lambda i, a, o: torch.neg(i[0]),
    "Reciprocal": lambda i, a, o: torch.reciprocal(i[0]),
    "MatMul": lambda i, a, o: torch.matmul(i[0], i[1]),
    "Gemm": _gemm,
    "GlobalAveragePool": lambda i, a, o: i[0].mean(
        dim=list(range(2, i[0].dim())), keepdim=True
    ),
    "AveragePool": _pool("avg"),
    "MaxPool": _pool("max"),
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": lambda i, a, o: i[0].permute(
        a.get("perm", list(reversed(range(i[0].dim()))))
    ),
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda i, a, o: torch.cat(
        [t.to(torch.promote_types(i[0].dtype, t.dtype)) for t in i], a["axis"]
    ),
    "Slice": _slice,
    "Shape": lambda i, a, o: torch.tensor(list(i[0].shape), dtype=torch.int64),
    "Cast": _cast,
    "Gather": _gather,
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
    "Identity": lambda i, a, o: i[0],
    "Dropout": lambda i, a, o: i[0],
    "Softmax": _softmax,
    "ReduceMean": _reduce(torch.mean, 18),
    "ReduceSum": _reduce(torch.sum, 13),
    "ReduceMax": _reduce(lambda x, dim, keepdim: torch.amax(x, dim, keepdim), 18),
    "Pad": _pad,
    "Split": _split,
    "LayerNormalization": _layernorm,
}


def run_node(
    node: onnx.NodeProto, inputs: List[Optional[Tensor]], opset: int
) -> List[Tensor]:
    """Outputs of one node for the given inputs (None for omitted ones)."""
    fn = OPS.get(node.op_type)
    if fn is None or node.domain not in ("", "ai.onnx"):
        raise MissingOp(
            f"reference executor has no op '{node.op_type}' (node '{node.name}')"
        )
    ins = [None if x is None else to_tensor(x) for x in inputs]
    while ins and ins[-1] is None:
        ins.pop()
    out = fn(ins, attributes(node), opset)
    return list(out) if isinstance(out, (tuple, list)) else [out]


class OnnxReference:
    """Runs a whole ONNX graph node by node on PyTorch (CPU, float32)."""

    def __init__(self, model: Union[str, onnx.ModelProto]):
        self.model = onnx.load(model) if isinstance(model, str) else model
        self.opset = opset_version(self.model)
        self.initializers = {
            t.name: to_tensor(numpy_helper.to_array(t)) for t in self.model.graph.initializer
        }

    @property
    def input_names(self) -> List[str]:
        return [
            i.name for i in self.model.graph.input if i.name not in self.initializers
        ]

    def run(
        self, inputs: Union[Sequence[np.ndarray], Dict[str, np.ndarray]]
    ) -> List[np.ndarray]:
        if not isinstance(inputs, dict):
            inputs = dict(zip(self.input_names, inputs))
        env: Dict[str, Tensor] = dict(self.initializers)
        for k, v in inputs.items():
            arr = np.asarray(v)
            env[k] = to_tensor(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
        with torch.no_grad():
            self._run_graph(self.model.graph, env)
        return [env[o.name].numpy() for o in self.model.graph.output]

    def run_capture(
        self, inputs: Dict[str, np.ndarray], names: Sequence[str]
    ) -> Dict[str, np.ndarray]:
        """Runs the graph and returns the named intermediate values (for
        calibration: the inputs each layer sees)."""
        env: Dict[str, Tensor] = dict(self.initializers)
        for k, v in inputs.items():
            arr = np.asarray(v)
            env[k] = to_tensor(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
        with torch.no_grad():
            # Nothing after the last value asked for needs to run.
            self._run_graph(self.model.graph, env, stop_when=set(names))
        return {n: env[n].numpy() for n in names}

    def _run_graph(
        self,
        graph: onnx.GraphProto,
        env: Dict[str, Tensor],
        stop_when: Optional[set] = None,
    ) -> None:
        """Run the nodes of `graph` in `env`; If runs the branch its condition picks."""
        for t in graph.initializer:
            env.setdefault(t.name, to_tensor(numpy_helper.to_array(t)))
        for node in graph.node:
            if stop_when and all(n in env for n in stop_when):
                return
            ins = [env[n] if n else None for n in node.input]
            if node.op_type == "If":
                attrs = attributes(node)
                branch = attrs[
                    "then_branch" if bool(ins[0].reshape(-1)[0]) else "else_branch"
                ]
                self._run_graph(branch, env)
                outs = [env[o.name] for o in branch.output]
            else:
                outs = run_node(node, ins, self.opset)
            for name, val in zip(node.output, outs):
                if name:
                    env[name] = val

"""Command line for the importers: ONNX files, torchvision models, real models.

  python3 -m smartdeal.importers onnx M.onnx -o out.mlir --input-shape x=1,3,48,320
  python3 -m smartdeal.importers torchvision resnet18 -o r.mlir --input-shape 1,3,32,32
  python3 -m smartdeal.importers real ocr-rec -o out.mlir [--fetch]

An unsupported op or shape prints one `error:` line naming the op type and
node and exits with status 1, leaving no output file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .. import models
from ..ir.emitter import FLAVOURS, FX
from .errors import UnsupportedError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="the .mlir file to write")
    p.add_argument(
        "--flavour",
        choices=FLAVOURS,
        default=FX,
        help="fx: dense_resource weights (default); torchscript: inline dense",
    )
    p.add_argument(
        "--no-fold-batchnorm",
        action="store_true",
        help="keep BatchNorm as a separate linalg.generic",
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m smartdeal.importers", description=__doc__.splitlines()[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("onnx", help="import an ONNX file")
    p.add_argument("model")
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="fix a dynamic input shape (repeat)",
    )
    p.add_argument(
        "--constant-input",
        action="append",
        default=[],
        metavar="NAME=V0,V1,...",
        help="make a graph input an import-time constant (repeat), e.g. sr=16000",
    )
    _common(p)
    p = sub.add_parser(
        "torchvision", help="import a torchvision architecture (random weights)"
    )
    p.add_argument("arch", help="e.g. resnet18, resnet50, mobilenet_v2, vgg16")
    p.add_argument("--input-shape", default="1,3,32,32")
    p.add_argument("--seed", type=int, default=0)
    _common(p)
    p = sub.add_parser("real", help="import one of the real pretrained models")
    p.add_argument("name", help="see smartdeal.models.MODELS")
    p.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=D0,D1,..."
    )
    p.add_argument(
        "--fetch", action="store_true", help="run scripts/fetch-models.sh if missing"
    )
    _common(p)
    args = ap.parse_args(argv)
    fold = not args.no_fold_batchnorm
    try:
        if args.cmd == "onnx":
            from .onnx_importer import (
                import_onnx,
                parse_constant_args,
                parse_shape_args,
            )

            import_onnx(
                args.model,
                args.output,
                parse_shape_args(args.input_shape),
                args.flavour,
                fold,
                parse_constant_args(args.constant_input),
            )
        elif args.cmd == "torchvision":
            import torch
            import torchvision

            from .torch_importer import import_torch

            torch.manual_seed(args.seed)
            shape = [int(d) for d in args.input_shape.replace("x", ",").split(",")]
            model = getattr(torchvision.models, args.arch)(weights=None)
            import_torch(model, torch.randn(*shape), args.output, args.flavour, fold)
        else:
            from .onnx_importer import import_onnx, parse_shape_args

            if args.name not in models.MODELS:
                print(
                    f"error: unknown model {args.name!r}; known: "
                    f"{', '.join(models.MODELS)}",
                    file=sys.stderr,
                )
                return 2
            info = models.MODELS[args.name]
            path = models.model_path(args.name, download=args.fetch)
            if path is None:
                print(
                    f"error: {info.path} is missing; run scripts/fetch-models.sh "
                    f"{info.fetch_key} (or pass --fetch)",
                    file=sys.stderr,
                )
                return 1
            shapes = dict(info.input_shapes)
            shapes.update(parse_shape_args(args.input_shape))
            import_onnx(
                path, args.output, shapes, args.flavour, fold, info.constant_inputs
            )
    except UnsupportedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # one line, not a traceback, for any other failure
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

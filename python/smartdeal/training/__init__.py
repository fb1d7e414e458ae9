"""SmartDeal / PermDNN training: form-keeping layers, fine-tuning, export to sd IR.

    from smartdeal.training import (SELinear, SEConv2d, PermDiagLinear, BucketSwitch,
                                     convert_model, finetune, evaluate, export_mlir)

See docs/Training.md.
"""

from .layers import (BucketSwitch, PermDiagLinear, SEConv2d, SELinear,  # noqa: F401
                     block_layout, codes_to_values, pow2, pow2_ste, values_to_codes)
from .decompose import decompose_weight  # noqa: F401
from .finetune import convert_model, evaluate, finetune  # noqa: F401
from .mlir_export import export_mlir, run_exported  # noqa: F401

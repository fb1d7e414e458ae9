"""The accelerator from Python: compressed layers and whole networks on sd-sim.

* `whole_model`: the driver's accelerator step, the whole model through
  `--sd-quantize`, `--sd-schedule`, `--sd-partition` and the hybrid run;
* `simulate`: each compressed layer of a module quantized, translated and
  simulated alone (the fine-tuning export);
* `calibration_stats`: the statistics `--sd-quantize` reads;
* `network`: whole networks in the accelerator's integer format as one sd
  function, run on the CPU quantized mode and on sd-sim.
"""

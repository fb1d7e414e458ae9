"""The accelerator from Python: compressed layers and whole networks on sd-sim.

* `simulate`: the driver's accelerator step, each compressed layer of a
  module quantized, translated and simulated;
* `network`: whole networks in the accelerator's integer format as one sd
  function, run on the CPU quantized mode and on sd-sim.
"""

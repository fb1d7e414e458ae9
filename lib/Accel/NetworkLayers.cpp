//===- NetworkLayers.cpp - Whole-network layers of the accelerator --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Builder, verifier and arithmetic of the whole-network layers. Pooling and
// depthwise convolution read bands of input rows of every channel (the
// convolution's band layout, so cfg_band and the band checks are shared),
// one sample at a time, and write [channel][position] blocks that one
// strided DMA stores; bands and output blocks alternate between the two
// halves of the buffers, so loads, compute and stores overlap. Depthwise
// weights and biases stay in the weight buffer for the whole layer. The add
// streams both operands in chunks.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/NetworkLayers.h"

#include "DmaSplit.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Compression/Quantize.h"

#include <algorithm>

namespace sd::sdacc {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A depthwise layer's biases follow its weights, 8-byte aligned.
int64_t depthwiseBiasAddr(int64_t weightBytes) {
  return (weightBytes + 7) / 8 * 8;
}

/// floor(v / 2^s), spelled out for negative v.
int64_t floorShift(int64_t v, int64_t s) {
  return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1;
}
} // namespace

//===----------------------------------------------------------------------===//
// Arithmetic and cost
//===----------------------------------------------------------------------===//

int8_t poolOutput(const LayerDecl &l, const int8_t *band, int64_t h0,
                  int64_t ch, int64_t oh, int64_t ow) {
  const int64_t ih0 = oh * l.strideH - l.padTop;
  const int64_t iw0 = ow * l.strideW - l.padLeft;
  const int64_t rowStride = l.c * l.w;
  const bool avg = l.layerKind() == LayerKind::AvgPool;
  int64_t best = -128, sum = 0;
  for (int64_t y = std::max<int64_t>(0, ih0);
       y < std::min<int64_t>(l.h, ih0 + l.r); ++y) {
    const int8_t *row = band + (y - h0) * rowStride + ch * l.w;
    for (int64_t x = std::max<int64_t>(0, iw0);
         x < std::min<int64_t>(l.w, iw0 + l.s); ++x) {
      best = std::max<int64_t>(best, row[x]);
      sum += row[x];
    }
  }
  if (!avg)
    return int8_t(best);
  // |sum| <= 127 * 225 and M < 2^15: no saturation is reachable.
  int64_t t = sum * l.multiplier + (int64_t(1) << (l.shift - 1));
  return int8_t(
      std::clamp<int64_t>(floorShift(t, l.shift), l.relu ? 0 : -127, 127));
}

int8_t depthwiseOutput(const LayerDecl &l, const int8_t *band, int64_t h0,
                       int64_t ch, int64_t oh, int64_t ow, const int8_t *w,
                       int64_t bias) {
  const int64_t ih0 = oh * l.strideH - l.padTop;
  const int64_t iw0 = ow * l.strideW - l.padLeft;
  const int64_t rowStride = l.c * l.w;
  int64_t acc = bias;
  for (int64_t y = std::max<int64_t>(0, ih0);
       y < std::min<int64_t>(l.h, ih0 + l.r); ++y) {
    const int8_t *row = band + (y - h0) * rowStride + ch * l.w;
    for (int64_t x = std::max<int64_t>(0, iw0);
         x < std::min<int64_t>(l.w, iw0 + l.s); ++x)
      acc += int64_t(row[x]) * w[(y - ih0) * l.s + (x - iw0)];
  }
  compression::Requantization r;
  r.multiplier = l.multiplier;
  r.shift = l.shift;
  return compression::requantize(acc, r, l.relu != 0);
}

int64_t depthwiseCycles(int64_t channels, int64_t npos, int64_t taps,
                        int64_t dimM, int64_t dimC, int64_t dimF) {
  int64_t tree = 1;
  while ((int64_t(1) << (tree - 1)) < dimC)
    ++tree;
  return ceilDiv(channels, dimM) * ceilDiv(npos, dimF) * ceilDiv(taps, dimC) +
         tree;
}

int64_t poolCycles(int64_t channels, int64_t npos, int64_t taps,
                   int64_t dimM, int64_t dimF) {
  return ceilDiv(channels, dimM) * ceilDiv(npos, dimF) * taps + 3;
}

int64_t addCycles(int64_t length, int64_t dimM, int64_t dimF) {
  return ceilDiv(length, dimM * dimF) + 3;
}

//===----------------------------------------------------------------------===//
// Layer-table checks
//===----------------------------------------------------------------------===//

std::string verifyNetworkLayer(const Program &program, int64_t index) {
  const LayerDecl &l = program.layers[size_t(index)];
  const std::string where = "layer '" + l.name + "': ";
  const int64_t tensors = int64_t(program.tensors.size());
  auto range = [&](const char *name, int64_t v, int64_t lo,
                   int64_t hi) -> std::string {
    if (v >= lo && v <= hi)
      return {};
    return where + name + " = " + std::to_string(v) + " must be in [" +
           std::to_string(lo) + ", " + std::to_string(hi) + "]";
  };
  const LayerKind kind = l.layerKind();
  const bool add = kind == LayerKind::Add;
  for (std::string e :
       {range("format", l.format, int64_t(WeightFormat::Dense),
              int64_t(WeightFormat::Dense)),
        range("input", l.input, 0, tensors - 1),
        range("output", l.output, 0, tensors - 1),
        range("input2", l.input2, 0, add ? tensors - 1 : 0),
        range("n", l.n, 1, 65535), range("c", l.c, 1, (1 << 20) - 1),
        range("h", l.h, 1, 65535), range("w", l.w, 1, 65535),
        range("k", l.k, l.c, l.c), range("oh", l.oh, 1, 65535),
        range("ow", l.ow, 1, 65535), range("r", l.r, 1, 15),
        range("s", l.s, 1, 15), range("stride_h", l.strideH, 1, 15),
        range("stride_w", l.strideW, 1, 15),
        range("pad_top", l.padTop, 0, l.r - 1),
        range("pad_left", l.padLeft, 0, l.s - 1),
        range("blocks", l.blocks, 0, 0), range("block_rows", l.blockRows, 0, 0),
        range("code_bits", l.codeBits, 0, 0), range("relu", l.relu, 0, 1)})
    if (!e.empty())
      return e;
  const bool dw = kind == LayerKind::Depthwise;
  if (kind == LayerKind::MaxPool) {
    for (std::string e :
         {range("multiplier", l.multiplier, 0, 0), range("shift", l.shift, 0, 0),
          range("multiplier2", l.multiplier2, 0, 0),
          range("relu", l.relu, 0, 0)})
      if (!e.empty())
        return e;
  } else if (kind == LayerKind::AvgPool || dw) {
    for (std::string e : {range("multiplier", l.multiplier, 1 << 14,
                                (1 << 15) - 1),
                          range("shift", l.shift, 1, 62),
                          range("multiplier2", l.multiplier2, 0, 0)})
      if (!e.empty())
        return e;
  } else {
    for (std::string e :
         {range("multiplier", l.multiplier, 0, (1 << 15) - 1),
          range("multiplier2", l.multiplier2, 0, (1 << 15) - 1),
          range("shift", l.shift, 1, 62)})
      if (!e.empty())
        return e;
    if (l.h != l.oh || l.w != l.ow || l.r != 1 || l.s != 1 ||
        l.strideH != 1 || l.strideW != 1)
      return where + "an add has oh = h, ow = w, r = s = 1 and unit strides";
  }
  if ((l.oh - 1) * l.strideH - l.padTop > l.h - 1 ||
      (l.oh - 1) * l.strideH + l.r - l.h - l.padTop > l.r - 1 ||
      (l.ow - 1) * l.strideW - l.padLeft > l.w - 1 ||
      (l.ow - 1) * l.strideW + l.s - l.w - l.padLeft > l.s - 1)
    return where + "output " + std::to_string(l.oh) + " x " +
           std::to_string(l.ow) + " does not fit input " + std::to_string(l.h) +
           " x " + std::to_string(l.w) + " with the window";
  auto holds = [&](int64_t t, int64_t bytes, const char *what) -> std::string {
    const TensorDecl &decl = program.tensors[size_t(t)];
    if (decl.numBytes() == bytes && decl.shape[0] == l.n)
      return {};
    return where + what + " tensor '" + decl.name + "' does not hold " +
           std::to_string(bytes) + " values of batch " + std::to_string(l.n);
  };
  for (std::string e :
       {holds(l.input, l.n * l.c * l.h * l.w, "input"),
        holds(l.output, l.n * l.c * l.oh * l.ow, "output"),
        add ? holds(l.input2, l.n * l.c * l.h * l.w, "second input")
            : std::string()})
    if (!e.empty())
      return e;
  if (program.tensors[size_t(l.output)].role == TensorRole::Input)
    return where + "writes network input '" +
           program.tensors[size_t(l.output)].name + "'";
  for (const DataSegment &s : program.segments) {
    if (s.layer != index)
      continue;
    if (!dw || (s.kind != DmaKind::Weights && s.kind != DmaKind::Bias))
      return where + "has a " + dmaKindName(s.kind) +
             " segment; pooling and add layers have no data, depthwise "
             "layers weights and bias";
    int64_t want = s.kind == DmaKind::Weights ? l.c * l.r * l.s : l.c * 8;
    if (int64_t(s.bytes.size()) != want)
      return where + dmaKindName(s.kind) + " segment has " +
             std::to_string(s.bytes.size()) + " bytes, expected " +
             std::to_string(want);
  }
  if (dw && (!program.findSegment(index, DmaKind::Weights) ||
             !program.findSegment(index, DmaKind::Bias)))
    return where + "a depthwise layer needs one weights and one bias segment";
  return {};
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

bool ProgramBuilder::addNetworkLayer(LayerSpec spec, std::string &error) {
  auto fail = [&](const std::string &text) {
    error = "layer '" + spec.name + "': " + text;
    return false;
  };
  for (const LayerSpec &other : layers_)
    if (other.name == spec.name)
      return fail("a layer of that name exists already");
  int64_t in = findTensor(spec.input);
  if (in < 0)
    return fail("no input tensor '" + spec.input + "'");
  if (findTensor(spec.output) >= 0 || spec.output.empty())
    return fail("output tensor '" + spec.output + "' must be a new name");
  std::vector<int64_t> shape = tensors_[size_t(in)].shape;
  spec.format = WeightFormat::Dense;
  if (spec.kind == LayerKind::Add) {
    int64_t in2 = findTensor(spec.input2);
    if (in2 < 0)
      return fail("no second input tensor '" + spec.input2 + "'");
    if (tensors_[size_t(in2)].shape != shape)
      return fail("the two operands of an add have different shapes");
    if (spec.multiplier < 0 || spec.multiplier >= (1 << 15) ||
        spec.multiplier2 < 0 || spec.multiplier2 >= (1 << 15) ||
        spec.shift < 1 || spec.shift > 62)
      return fail("an add needs multipliers in [0, 2^15) and S in [1, 62]");
    spec.kernelH = spec.kernelW = spec.strideH = spec.strideW = 1;
    spec.padTop = spec.padLeft = spec.padBottom = spec.padRight = 0;
    int64_t elems = 1;
    for (int64_t d : shape)
      elems *= d;
    if (shape[0] > 65535 || elems / shape[0] >= (1 << 20))
      return fail("the operands exceed the instruction fields");
    spec.outChannels = elems / shape[0];
    tensors_.push_back({spec.output, shape, TensorRole::Internal});
    layers_.push_back(std::move(spec));
    return true;
  }
  if (shape.size() != 4)
    return fail("pooling needs an NCHW input");
  if (spec.padBottom < 0)
    spec.padBottom = spec.padTop;
  if (spec.padRight < 0)
    spec.padRight = spec.padLeft;
  if (spec.kernelH < 1 || spec.kernelH > 15 || spec.kernelW < 1 ||
      spec.kernelW > 15 || spec.strideH < 1 || spec.strideH > 15 ||
      spec.strideW < 1 || spec.strideW > 15)
    return fail("pooling windows and strides must be in [1, 15]");
  if (spec.padTop < 0 || spec.padTop >= spec.kernelH || spec.padLeft < 0 ||
      spec.padLeft >= spec.kernelW || spec.padBottom < 0 ||
      spec.padBottom >= spec.kernelH || spec.padRight < 0 ||
      spec.padRight >= spec.kernelW)
    return fail("padding must be smaller than the window");
  if (spec.kind == LayerKind::AvgPool || spec.kind == LayerKind::Depthwise) {
    if (spec.multiplier < (1 << 14) || spec.multiplier >= (1 << 15) ||
        spec.shift < 1 || spec.shift > 62)
      return fail(std::string(spec.kind == LayerKind::AvgPool
                                  ? "average pooling"
                                  : "a depthwise convolution") +
                  " needs M in [2^14, 2^15) and S in [1, 62]");
  } else {
    spec.multiplier = spec.shift = 0;
    spec.relu = false;
  }
  spec.multiplier2 = 0;
  const int64_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  if (n > 65535 || c >= 65536 || h > 65535 || w > 65535 ||
      h * w > DmaLimits::get().stride)
    return fail("the input exceeds the instruction fields");
  int64_t oh = (h + spec.padTop + spec.padBottom - spec.kernelH) /
                   spec.strideH + 1;
  int64_t ow = (w + spec.padLeft + spec.padRight - spec.kernelW) /
                   spec.strideW + 1;
  if (h + spec.padTop + spec.padBottom < spec.kernelH ||
      w + spec.padLeft + spec.padRight < spec.kernelW)
    return fail("the window is larger than the padded input");
  if (!windowedRowFits(config_, c, h, w, spec.kernelH, ow))
    return fail("one output row of every channel does not fit half the "
                "input and output buffers (sd-opt --sd-schedule splits the "
                "channels)");
  if (spec.kind == LayerKind::Depthwise) {
    const int64_t taps = spec.kernelH * spec.kernelW;
    if (int64_t(spec.weights.size()) != c * taps)
      return fail("depthwise weights hold " +
                  std::to_string(spec.weights.size()) +
                  " values, expected C x R x S = " + std::to_string(c * taps));
    if (!spec.bias.empty() && int64_t(spec.bias.size()) != c)
      return fail("bias holds " + std::to_string(spec.bias.size()) +
                  " values, expected " + std::to_string(c));
    if (depthwiseBiasAddr(c * taps) + 8 * c > config_.weight.bytes)
      return fail("the depthwise weights and biases do not fit the weight "
                  "buffer");
  } else {
    spec.weights.clear();
    spec.bias.clear();
  }
  spec.outChannels = c;
  tensors_.push_back({spec.output, {n, c, oh, ow}, TensorRole::Internal});
  layers_.push_back(std::move(spec));
  return true;
}

bool windowedRowFits(const HardwareConfig &config, int64_t channels,
                     int64_t h, int64_t w, int64_t kernelH, int64_t ow) {
  return std::min(h, kernelH) * channels * w <= config.input.bytes / 2 &&
         channels * ow <= config.output.bytes / 2;
}

namespace {
/// Emits the instructions of one network layer.
class NetworkEmitter {
public:
  NetworkEmitter(const HardwareConfig &config, const LayerDecl &l,
                 int64_t index, int64_t in, int64_t in2, int64_t out,
                 std::vector<Instruction> &code, LayerSchedule &sched)
      : config(config), l(l), index(index), in(in), in2(in2), out(out),
        code(code), sched(sched) {}

  void run() {
    size_t before = code.size();
    code.push_back(Instruction(Opcode::Layer, {index}));
    code.push_back(Instruction(Opcode::CfgInput, {l.n, l.c, l.h, l.w}));
    code.push_back(Instruction(Opcode::CfgOutput, {l.k, l.oh, l.ow}));
    if (l.layerKind() == LayerKind::Add)
      emitAdd();
    else
      emitWindowed();
    code.push_back(Instruction(Opcode::Sync, {}));
    sched.instructions = int64_t(code.size() - before);
  }

private:
  void load(int64_t dram, int64_t buf, int64_t length, int64_t count,
            int64_t stride) {
    emitDma(code, sched, false, DmaKind::Act, dram, buf, length, count,
            stride);
  }

  void store(int64_t dram, int64_t buf, int64_t length, int64_t count,
             int64_t stride) {
    emitDma(code, sched, true, DmaKind::Act, dram, buf, length, count, stride);
  }

  void emitAdd() {
    code.push_back(Instruction(
        Opcode::CfgAdd, {l.multiplier, l.multiplier2, l.shift, l.relu}));
    // Both operands of a chunk in one half of the input buffer, the result
    // in one half of the output buffer.
    const int64_t total = l.n * l.c * l.h * l.w;
    const int64_t chunk = std::min({config.input.bytes / 4,
                                    config.output.bytes / 2,
                                    DmaLimits::get().length});
    int64_t slot = 0, chunks = 0;
    for (int64_t off = 0; off < total; off += chunk, slot ^= 1, ++chunks) {
      int64_t len = std::min(chunk, total - off);
      int64_t a = slot * (config.input.bytes / 2), b = a + chunk;
      int64_t o = slot * (config.output.bytes / 2);
      load(in + off, a, len, 1, 0);
      load(in2 + off, b, len, 1, 0);
      code.push_back(Instruction(Opcode::Add, {a, b, o, len}));
      store(out + off, o, len, 1, 0);
    }
    sched.bands = sched.chunks = chunks;
    sched.chunkPositions = chunk;
    sched.bandKind = "chunks";
  }

  /// Pooling and depthwise convolution: bands of input rows of every
  /// channel, one instruction and one strided store per group of channels.
  void emitWindowed() {
    const bool avg = l.layerKind() == LayerKind::AvgPool;
    const bool dw = l.layerKind() == LayerKind::Depthwise;
    code.push_back(Instruction(Opcode::CfgKernel, {l.r, l.s, l.strideH,
                                                   l.strideW, l.padTop,
                                                   l.padLeft}));
    if (avg || dw)
      code.push_back(
          Instruction(Opcode::CfgQuant, {l.multiplier, l.shift, l.relu}));
    if (dw) {
      // The whole layer's weights and biases stay in the weight buffer.
      const int64_t wBytes = l.c * l.r * l.s;
      const int64_t biasAddr = depthwiseBiasAddr(wBytes);
      code.push_back(Instruction(Opcode::CfgDw, {0, biasAddr}));
      code.push_back(Instruction(Opcode::DmaLoad,
                                 {int64_t(DmaKind::Weights), weights, 0,
                                  wBytes, 1, 0}));
      code.push_back(Instruction(Opcode::DmaLoad,
                                 {int64_t(DmaKind::Bias), bias, biasAddr,
                                  l.c * 8, 1, 0}));
      sched.dramWeightBytes += wBytes + l.c * 8;
      sched.weightsResident = true;
      sched.weightDataBytes = wBytes + l.c * 8;
    }
    const int64_t inHalf = config.input.bytes / 2;
    const int64_t outHalf = config.output.bytes / 2;
    const int64_t rowBytes = l.c * l.w;
    auto inputRows = [&](int64_t oh0, int64_t rows, int64_t &h0) {
      h0 = std::max<int64_t>(0, oh0 * l.strideH - l.padTop);
      int64_t h1 = std::min<int64_t>(
          l.h, (oh0 + rows - 1) * l.strideH - l.padTop + l.r);
      return h1 - h0;
    };
    // The most output rows whose input rows (wherever the band starts, so
    // without the padding of the first band) fit half the input buffer and
    // whose outputs of one group of dim_m channels fit half the output
    // buffer: the groups' output blocks alternate halves, so a band is not
    // cut to what all its channels' outputs would need at once (fewer
    // bands, fewer halo rows read twice).
    const int64_t group = config.dimM;
    const int64_t groupOut = std::min(group, l.c) * l.ow;
    int64_t rows = 1;
    while (rows < l.oh) {
      int64_t inRows = std::min<int64_t>(l.h, rows * l.strideH + l.r);
      if (inRows * rowBytes > inHalf || (rows + 1) * groupOut > outHalf)
        break;
      ++rows;
    }
    const int64_t plane = l.oh * l.ow;
    int64_t slot = 0, oslot = 0, bands = 0;
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t oh0 = 0; oh0 < l.oh; oh0 += rows, slot ^= 1, ++bands) {
        int64_t oRows = std::min(rows, l.oh - oh0), h0;
        int64_t iRows = inputRows(oh0, oRows, h0);
        int64_t base = slot * inHalf;
        // One DMA per input row gathers that row of every channel.
        for (int64_t y = 0; y < iRows; ++y)
          load(in + ((n * l.c) * l.h + h0 + y) * l.w, base + y * rowBytes, l.w,
               l.c, l.h * l.w);
        code.push_back(Instruction(Opcode::CfgBand, {base, n, 1, h0, iRows}));
        const int64_t npos = oRows * l.ow;
        const int64_t pos0 = n * plane + oh0 * l.ow;
        for (int64_t c0 = 0; c0 < l.c; c0 += group, oslot ^= 1) {
          int64_t ch = std::min(group, l.c - c0);
          int64_t o = oslot * outHalf;
          if (dw)
            code.push_back(
                Instruction(Opcode::DwConv, {c0, ch, pos0, npos, o}));
          else
            code.push_back(Instruction(
                Opcode::Pool, {avg ? 1 : 0, c0, ch, pos0, npos, o}));
          store(out + ((n * l.c + c0) * l.oh + oh0) * l.ow, o, npos, ch,
                plane);
        }
      }
    sched.bands = sched.chunks = bands;
    sched.bandKind = "rows";
    sched.bandOutputRows = rows;
    sched.chunkPositions = rows * l.ow;
    sched.inputResident = bands == 1;
  }

public:
  /// DRAM addresses of a depthwise layer's segments.
  int64_t weights = 0, bias = 0;

private:
  const HardwareConfig &config;
  const LayerDecl &l;
  int64_t index, in, in2, out;
  std::vector<Instruction> &code;
  LayerSchedule &sched;
};
} // namespace

bool ProgramBuilder::buildNetworkLayer(size_t index, Program &program,
                                       int64_t &dramEnd, std::string &error) {
  (void)error;
  const LayerSpec &spec = layers_[index];
  const std::vector<int64_t> &inShape =
      tensors_[size_t(findTensor(spec.input))].shape;
  const std::vector<int64_t> &outShape =
      tensors_[size_t(findTensor(spec.output))].shape;
  LayerDecl d;
  d.name = spec.name;
  d.kind = int64_t(spec.kind);
  d.format = int64_t(WeightFormat::Dense);
  d.input = findTensor(spec.input);
  d.output = findTensor(spec.output);
  d.n = inShape[0];
  if (spec.kind == LayerKind::Add) {
    // Flattened to [n, elements, 1, 1]: an add does not care about shape.
    d.input2 = findTensor(spec.input2);
    d.c = d.k = spec.outChannels;
    d.h = d.w = d.oh = d.ow = 1;
  } else {
    d.c = d.k = inShape[1];
    d.h = inShape[2];
    d.w = inShape[3];
    d.oh = outShape[2];
    d.ow = outShape[3];
  }
  d.r = spec.kernelH;
  d.s = spec.kernelW;
  d.strideH = spec.strideH;
  d.strideW = spec.strideW;
  d.padTop = spec.padTop;
  d.padLeft = spec.padLeft;
  d.multiplier = spec.multiplier;
  d.multiplier2 = spec.multiplier2;
  d.shift = spec.shift;
  d.relu = spec.relu ? 1 : 0;
  LayerSchedule sched;
  sched.name = d.name;
  sched.format = spec.kind == LayerKind::Depthwise ? "dense" : "none";
  sched.loopOrder = "bands-outer";
  sched.channelsPerGroup = std::min<int64_t>(config_.dimM, d.c);
  sched.groups = (d.c + config_.dimM - 1) / config_.dimM;
  program.layers.push_back(d);
  NetworkEmitter emitter(
      config_, program.layers.back(), int64_t(index),
      int64_t(program.tensors[size_t(d.input)].dramAddr),
      spec.kind == LayerKind::Add
          ? int64_t(program.tensors[size_t(d.input2)].dramAddr)
          : 0,
      int64_t(program.tensors[size_t(d.output)].dramAddr),
      program.instructions, sched);
  if (spec.kind == LayerKind::Depthwise) {
    // Raw int8 weights [c][r*s] and int64 biases, preloaded into DRAM.
    auto segment = [&](DmaKind kind, std::vector<uint8_t> bytes) {
      DataSegment s;
      s.kind = kind;
      s.layer = int64_t(index);
      s.dramAddr = uint64_t(dramEnd);
      dramEnd = (dramEnd + int64_t(bytes.size()) + 63) / 64 * 64;
      s.bytes = std::move(bytes);
      program.segments.push_back(std::move(s));
      return int64_t(program.segments.back().dramAddr);
    };
    emitter.weights = segment(
        DmaKind::Weights,
        std::vector<uint8_t>(spec.weights.begin(), spec.weights.end()));
    std::vector<uint8_t> bias(size_t(d.c * 8), 0);
    for (size_t o = 0; o < spec.bias.size(); ++o)
      for (int i = 0; i < 8; ++i)
        bias[o * 8 + size_t(i)] = uint8_t(uint64_t(spec.bias[o]) >> (8 * i));
    emitter.bias = segment(DmaKind::Bias, std::move(bias));
  }
  emitter.run();
  schedules_.push_back(std::move(sched));
  return true;
}

} // namespace sd::sdacc

//===- ProgramBuilder.cpp - Tiles layers into accelerator programs --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// A layer is planned as a list of steps; each step computes one weight tile
// (a group of output channels, all or some of its blocks) on one input band
// for one or more chunks of output positions. Steps say which band, tile and
// bias slot they need; a two-entry cache per buffer decides what must be
// loaded, and the loads of step i + 1 are emitted before the compute of step
// i whenever they go to the other half of a double buffer, so DMA overlaps
// compute (the simulator orders them by the buffer ranges they touch). Both
// loop orders are planned and the one moving fewer DRAM bytes is emitted.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ProgramBuilder.h"

#include "DmaSplit.h"
#include "SD/Accel/PermDiag.h"
#include "SD/Compression/Quantize.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

namespace sd::sdacc {

namespace {
constexpr int64_t kAlign = 64;

int64_t alignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

bool validName(const std::string &name) {
  if (name.empty() || name.size() > 255)
    return false;
  for (unsigned char ch : name)
    if (!(std::isalnum(ch) || ch == '_' || ch == '.' || ch == '-' ||
          ch == ':' || ch == '/'))
      return false;
  return true;
}

/// A layer's packed weight data, plus per-(channel, block) sizes.
struct PackedLayer {
  LayerDecl decl;
  std::vector<uint8_t> codes, index, basis, bias, weights;
  /// Bytes of the codes (se) or raw weights (dense) of each (o, b).
  std::vector<int64_t> segBytes;
  /// Offset of each (o, b) in the codes/weights blob; K * nb + 1 entries.
  std::vector<int64_t> segOffset;
  int64_t nonZeroRows = 0;
};

PackedLayer pack(const LayerSpec &spec, const LayerDecl &decl) {
  PackedLayer p;
  p.decl = decl;
  const int64_t K = decl.k, nb = decl.blocks, br = decl.blockRows;
  const int64_t L = decl.rowLength();
  p.segBytes.assign(size_t(K * nb), 0);
  p.segOffset.assign(size_t(K * nb + 1), 0);
  p.bias.assign(size_t(K * 8), 0);
  for (int64_t o = 0; o < K; ++o) {
    uint64_t v = spec.bias.empty() ? 0 : uint64_t(spec.bias[size_t(o)]);
    for (int i = 0; i < 8; ++i)
      p.bias[size_t(o * 8 + i)] = uint8_t(v >> (8 * i));
  }
  if (decl.weightFormat() == WeightFormat::PermDiag) {
    p.weights = packPermDiagRecords(spec, decl.c);
    return p;
  }
  if (decl.weightFormat() == WeightFormat::Dense) {
    p.weights.resize(size_t(K * L));
    for (size_t i = 0; i < p.weights.size(); ++i)
      p.weights[i] = uint8_t(spec.weights[i]);
    for (int64_t o = 0; o < K; ++o)
      for (int64_t b = 0; b < nb; ++b) {
        int64_t bytes = std::min(br * 3, L - b * br * 3);
        p.segBytes[size_t(o * nb + b)] = bytes;
        p.segOffset[size_t(o * nb + b)] = o * L + b * br * 3;
      }
    p.segOffset[size_t(K * nb)] = K * L;
    return p;
  }
  const int64_t idxBytes = decl.indexBytesPerBlock();
  const int64_t bits = decl.codeBits;
  const int64_t used = decl.usedRows();
  p.index.assign(size_t(K * nb * idxBytes), 0);
  p.basis.resize(size_t(K * nb * 9));
  for (size_t i = 0; i < p.basis.size(); ++i)
    p.basis[i] = uint8_t(spec.basis[i]);
  for (int64_t o = 0; o < K; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      size_t ob = size_t(o * nb + b);
      uint8_t *bitmap = &p.index[ob * size_t(idxBytes)];
      std::vector<int> kept;
      for (int64_t r = 0; r < br; ++r) {
        const int8_t *row = &spec.codes[(ob * size_t(br) + size_t(r)) * 3];
        // Rows of padding only contribute nothing: the index drops them.
        bool present = b * br + r < used && (row[0] || row[1] || row[2]);
        if (!present)
          continue;
        bitmap[r / 8] |= uint8_t(1u << (r % 8));
        kept.insert(kept.end(), {row[0], row[1], row[2]});
      }
      int64_t rows = int64_t(kept.size()) / 3;
      p.nonZeroRows += rows;
      int64_t bytes = codeSegmentBytes(rows, bits);
      p.segOffset[ob] = int64_t(p.codes.size());
      p.segBytes[ob] = bytes;
      size_t at = p.codes.size();
      p.codes.resize(at + size_t(bytes), 0);
      for (size_t i = 0; i < kept.size(); ++i)
        writePackedCode(&p.codes[at], int64_t(i), bits, kept[i]);
    }
  p.segOffset[size_t(K * nb)] = int64_t(p.codes.size());
  return p;
}

/// DRAM addresses of one layer's tensors and segments.
struct LayerAddrs {
  int64_t input = 0, output = 0;
  int64_t codes = 0, index = 0, basis = 0, bias = 0, weights = 0;
};

/// One weight tile: channels [k0, k0 + mt) and blocks [b0, b1).
struct Tile {
  int64_t group, k0, mt, b0, b1;
  int64_t wBytes; ///< Codes or raw weights, then bases, in the weight buffer.
  int64_t codeBytes;
  int64_t xBytes; ///< Index bytes.
};

/// One input band.
struct Band {
  int64_t n0, samples, h0, rows;
  int64_t pos0, pos1; ///< Output positions it serves (contiguous).
};

struct Chunk {
  int64_t pos0, npos, id;
};

/// A load a step needs before it runs.
struct Load {
  enum What { BandLoad, TileLoad, BiasLoad, BiasAllLoad } what;
  int64_t id;   ///< Band, tile or group index.
  int64_t slot; ///< Slot (or tile index when resident).
  bool hoist;   ///< May be emitted before the previous step's compute.
};

struct Step {
  int64_t band, tile, group;
  int64_t bandSlot = 0, tileSlot = 0, biasSlot = 0;
  std::vector<Chunk> chunks;
  bool first = true; ///< First tile of its chunks: initialize accumulators.
  bool last = true;  ///< Last tile of its chunks: requantize and store.
  std::vector<Load> loads;
};

/// A two-entry (or one-entry) cache of what each slot of a buffer holds.
struct SlotCache {
  int64_t slots = 2;
  int64_t key[2] = {-1, -1};
  int64_t current = -1; ///< Slot the previous step used.

  /// Slot of `k`, and whether it must be loaded.
  std::pair<int64_t, bool> get(int64_t k) {
    for (int64_t s = 0; s < slots; ++s)
      if (key[s] == k)
        return {current = s, false};
    int64_t s = slots == 1 ? 0 : (current == 0 ? 1 : 0);
    key[s] = k;
    return {current = s, true};
  }
};

/// Plans and emits one layer.
class LayerEmitter {
public:
  LayerEmitter(const HardwareConfig &config, const PackedLayer &layer,
               int64_t layerIndex, const LayerAddrs &addrs, LoopOrder order,
               const TileChoice &tiling, int64_t inBase, int64_t outBase,
               std::vector<Instruction> &out, LayerSchedule &schedule)
      : config(config), p(layer), l(layer.decl), layerIndex(layerIndex),
        addrs(addrs), order(tiling.isSet() ? tiling.loopOrder : order),
        want(tiling), inBase(inBase), outBase(outBase), out(out),
        sched(schedule) {}

  bool run(std::string &error) {
    se = l.weightFormat() == WeightFormat::SmartExchange;
    plane = l.oh * l.ow;
    accHalf = config.accEntries / 2;
    if (!planTiles(error) || !planBands(error))
      return false;
    if (want.isSet() && want.loopOrder == LoopOrder::Auto) {
      error = "layer '" + l.name + "': the recorded tiling has no loop order";
      return false;
    }
    std::vector<Step> a, b;
    int64_t costA = planSteps(false, a), costB = planSteps(true, b);
    bool groupsOuter = order == LoopOrder::GroupsOuter ||
                       (order == LoopOrder::Auto && costB < costA);
    steps = groupsOuter ? std::move(b) : std::move(a);
    sched.loopOrder = loopOrderName(groupsOuter ? LoopOrder::GroupsOuter
                                                : LoopOrder::BandsOuter);
    size_t before = out.size();
    emit();
    sched.instructions = int64_t(out.size() - before);
    return true;
  }

private:
  //===--------------------------------------------------------------------===//
  // Planning
  //===--------------------------------------------------------------------===//

  int64_t tileWeightBytes(int64_t k0, int64_t mt, int64_t b0, int64_t b1,
                          int64_t *codeBytes = nullptr) const {
    int64_t bytes = 0;
    for (int64_t o = k0; o < k0 + mt; ++o)
      for (int64_t b = b0; b < b1; ++b)
        bytes += p.segBytes[size_t(o * l.blocks + b)];
    if (codeBytes)
      *codeBytes = bytes;
    return bytes + (se ? mt * (b1 - b0) * 9 : 0);
  }

  int64_t tileIndexBytes(int64_t mt, int64_t b0, int64_t b1) const {
    return se ? mt * (b1 - b0) * l.indexBytesPerBlock() : 0;
  }

  Tile makeTile(int64_t group, int64_t k0, int64_t mt, int64_t b0,
                int64_t b1) const {
    Tile t{group, k0, mt, b0, b1, 0, 0, 0};
    t.wBytes = tileWeightBytes(k0, mt, b0, b1, &t.codeBytes);
    t.xBytes = tileIndexBytes(mt, b0, b1);
    return t;
  }

  bool tileFits(const Tile &t) const {
    return t.wBytes <= wSlot && t.xBytes <= xSlot;
  }

  /// Every group of `mt` channels fits a slot with all its blocks.
  bool groupsFit(int64_t mt) const {
    for (int64_t k0 = 0; k0 < l.k; k0 += mt)
      if (!tileFits(makeTile(0, k0, std::min(mt, l.k - k0), 0, l.blocks)))
        return false;
    return true;
  }

  /// Every single block of every group of `mt` channels fits a slot.
  bool blocksFit(int64_t mt) const {
    for (int64_t k0 = 0; k0 < l.k; k0 += mt)
      for (int64_t b = 0; b < l.blocks; ++b)
        if (!tileFits(makeTile(0, k0, std::min(mt, l.k - k0), b, b + 1)))
          return false;
    return true;
  }

  bool planTiles(std::string &error) {
    const int64_t wbuf = config.weight.bytes, xbuf = config.index.bytes;
    const int64_t m0 = std::min(config.dimM, l.k);
    Tile all = makeTile(0, 0, l.k, 0, l.blocks);
    resident = all.wBytes + l.k * 8 <= wbuf && all.xBytes <= xbuf;
    bool split = false;
    int64_t mt = m0;
    if (want.isSet()) {
      // A recorded tiling: obeyed when its tiles fit, refused otherwise.
      if (want.channelsPerGroup > m0) {
        error = "layer '" + l.name + "': the recorded tiling has " +
                std::to_string(want.channelsPerGroup) +
                " channels per group, more than min(dim_m, channels) = " +
                std::to_string(m0);
        return false;
      }
      mt = want.channelsPerGroup;
      split = want.blocksSplit;
    }
    if (resident) {
      biasBase = wbuf - l.k * 8;
      wSlot = biasBase;
      xSlot = xbuf;
    } else {
      biasBase = wbuf - 2 * config.dimM * 8;
      wSlot = biasBase / 2;
      xSlot = xbuf / 2;
      // One chunk of positions means split tiles are loaded once each.
      bool oneChunk = l.numPositions() <= accHalf && (plane == 1 || l.n == 1);
      if (want.isSet()) {
        if (!(split ? blocksFit(mt) : groupsFit(mt))) {
          error = "layer '" + l.name + "': the recorded tiling's " +
                  (split ? "blocks" : "tiles") + " of " + std::to_string(mt) +
                  " output channels do not fit half the weight or index "
                  "buffer";
          return false;
        }
      } else if (!groupsFit(m0)) {
        int64_t fit = 0;
        for (int64_t m = m0; m >= 1 && !fit; --m)
          if (groupsFit(m))
            fit = m;
        if (fit && !oneChunk) {
          mt = fit;
        } else {
          split = true;
          mt = 0;
          for (int64_t m = m0; m >= 1 && !mt; --m)
            if (blocksFit(m))
              mt = m;
          if (!mt) {
            error = "layer '" + l.name +
                    "': one block of one output channel does not fit half "
                    "the weight or index buffer";
            return false;
          }
        }
      }
    }
    for (int64_t k0 = 0, g = 0; k0 < l.k; k0 += mt, ++g) {
      int64_t m = std::min(mt, l.k - k0);
      if (!split) {
        tiles.push_back(makeTile(g, k0, m, 0, l.blocks));
      } else {
        for (int64_t b0 = 0; b0 < l.blocks;) {
          int64_t b1 = b0 + 1;
          while (b1 < l.blocks && tileFits(makeTile(g, k0, m, b0, b1 + 1)))
            ++b1;
          tiles.push_back(makeTile(g, k0, m, b0, b1));
          b0 = b1;
        }
      }
      groupTiles.push_back(int64_t(tiles.size()));
    }
    numGroups = int64_t(groupTiles.size());
    blocksSplit = split;
    if (resident) {
      int64_t w = 0, x = 0;
      for (const Tile &t : tiles) {
        tileWAddr.push_back(w);
        tileXAddr.push_back(x);
        w += t.wBytes;
        x += t.xBytes;
      }
    }
    sched.channelsPerGroup = mt;
    sched.groups = numGroups;
    sched.blockTiles = int64_t(tiles.size());
    sched.weightsResident = resident;
    sched.blocksSplit = split;
    // With at most two blocks per tile, each engine keeps one block rebuilt
    // for every position of the band.
    rebuildOnce = !split && l.blocks <= config.enginesPerLine;
    sched.rebuiltOnce = rebuildOnce;
    return true;
  }

  bool planBands(std::string &error) {
    const int64_t ibuf = config.input.bytes;
    const int64_t perSample = l.c * l.h * l.w;
    if (inBase >= 0 || outBase >= 0) {
      // A cascade: the whole input is one band, already on chip at inBase
      // or loaded to address 0 (build() checked that it fits beside the
      // output's place).
      bandSlots = 1;
      bandSlotBytes = ibuf;
      bandBase = std::max<int64_t>(inBase, 0);
      bands.push_back({0, l.n, 0, l.h, 0, l.numPositions()});
      sched.bandKind = "batch";
      sched.bandSamples = l.n;
    } else if (want.isSet() && want.bandOutputRows > 0) {
      if (!planRecordedRows(error))
        return false;
    } else if (want.isSet() && perSample > ibuf / 2 &&
               l.n * perSample > ibuf) {
      error = "layer '" + l.name + "': the recorded tiling loads whole " +
              "samples, but one sample's " + std::to_string(perSample) +
              " input bytes do not fit half the input buffer";
      return false;
    } else if (l.n * perSample <= ibuf) {
      bandSlots = 1;
      bandSlotBytes = ibuf;
      bands.push_back({0, l.n, 0, l.h, 0, l.numPositions()});
      sched.bandKind = "batch";
      sched.bandSamples = l.n;
    } else if (perSample <= ibuf / 2) {
      bandSlots = 2;
      bandSlotBytes = ibuf / 2;
      int64_t ns = std::min<int64_t>(bandSlotBytes / perSample, 65535);
      for (int64_t n0 = 0; n0 < l.n; n0 += ns) {
        int64_t s = std::min(ns, l.n - n0);
        bands.push_back({n0, s, 0, l.h, n0 * plane, (n0 + s) * plane});
      }
      sched.bandKind = "batch";
      sched.bandSamples = ns;
    } else {
      int64_t minRows = std::min(l.h, l.r) * l.c * l.w;
      if (minRows <= ibuf / 2) {
        bandSlots = 2;
        bandSlotBytes = ibuf / 2;
      } else if (minRows <= ibuf) {
        bandSlots = 1;
        bandSlotBytes = ibuf;
      } else {
        error = "layer '" + l.name + "': the " + std::to_string(minRows) +
                " input bytes of one output row (c x r x w) do not fit the "
                "input buffer of " +
                std::to_string(ibuf) + " bytes";
        return false;
      }
      int64_t bo = 1;
      while (bo < l.oh &&
             std::min(l.h, bo * l.strideH + l.r) * l.c * l.w <= bandSlotBytes)
        ++bo;
      rowBands(bo);
      sched.bandKind = "rows";
      sched.bandOutputRows = bo;
    }
    sched.bands = int64_t(bands.size());
    sched.inputResident = bands.size() == 1;
    // Chunks: half the accumulators, half the output buffer, and (for
    // planes of more than one position) never across samples.
    int64_t maxTileChannels = 0;
    for (const Tile &t : tiles)
      maxTileChannels = std::max(maxTileChannels, t.mt);
    chunkMax = std::min<int64_t>(
        {accHalf, (config.output.bytes / 2) / maxTileChannels, 65535});
    if (chunkMax < 1) {
      error = "layer '" + l.name +
              "': the output buffer cannot hold one position of a tile";
      return false;
    }
    sched.chunkPositions = chunkMax;
    return true;
  }

  /// Bands of `bo` output rows of one sample each, with their halo input
  /// rows; returns the input bytes of the largest.
  int64_t rowBands(int64_t bo) {
    int64_t largest = 0;
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t oh0 = 0; oh0 < l.oh; oh0 += bo) {
        int64_t oh1 = std::min(l.oh, oh0 + bo);
        int64_t ih0 = std::max<int64_t>(0, oh0 * l.strideH - l.padTop);
        int64_t ih1 =
            std::min<int64_t>(l.h, (oh1 - 1) * l.strideH - l.padTop + l.r);
        bands.push_back({n, 1, ih0, ih1 - ih0, n * plane + oh0 * l.ow,
                         n * plane + oh1 * l.ow});
        largest = std::max(largest, (ih1 - ih0) * l.c * l.w);
      }
    return largest;
  }

  /// Input bands of the recorded number of output rows, one sample each,
  /// double-buffered when the largest band fits half the input buffer.
  bool planRecordedRows(std::string &error) {
    const int64_t ibuf = config.input.bytes;
    const int64_t bo = want.bandOutputRows;
    if (l.h == 1 || bo > l.oh) {
      error = "layer '" + l.name + "': the recorded tiling's bands of " +
              std::to_string(bo) + " output rows do not match its " +
              std::to_string(l.oh) + " output rows";
      return false;
    }
    int64_t largest = rowBands(bo);
    if (largest > ibuf) {
      error = "layer '" + l.name + "': the recorded tiling's bands of " +
              std::to_string(bo) + " output rows need " +
              std::to_string(largest) + " input bytes, more than the input "
              "buffer of " + std::to_string(ibuf);
      return false;
    }
    bandSlots = largest <= ibuf / 2 ? 2 : 1;
    bandSlotBytes = ibuf / bandSlots;
    sched.bandKind = "rows";
    sched.bandOutputRows = bo;
    return true;
  }

  std::vector<Chunk> bandChunks(const Band &band) {
    std::vector<Chunk> chunks;
    for (int64_t p = band.pos0; p < band.pos1;) {
      int64_t end = std::min(band.pos1, p + chunkMax);
      if (plane > 1)
        end = std::min(end, (p / plane + 1) * plane);
      chunks.push_back({p, end - p, 0});
      p = end;
    }
    return chunks;
  }

  int64_t bandBytes(const Band &b) const {
    return b.samples * l.c * b.rows * l.w;
  }

  /// Plans every step for one loop order; returns the DRAM bytes loaded.
  int64_t planSteps(bool groupsOuter, std::vector<Step> &out) {
    SlotCache bandCache, tileCache, biasCache;
    bandCache.slots = bandSlots;
    std::vector<bool> tileLoaded(tiles.size(), false);
    bool biasAllLoaded = false;
    int64_t bytes = 0, chunkId = 0;
    auto addStep = [&](int64_t bi, int64_t ti, std::vector<Chunk> chunks,
                       bool first, bool last) {
      const Tile &t = tiles[size_t(ti)];
      Step s;
      s.band = bi;
      s.tile = ti;
      s.group = t.group;
      s.first = first;
      s.last = last;
      s.chunks = std::move(chunks);
      auto [bandSlot, bandLoad] = bandCache.get(bi);
      s.bandSlot = bandSlot;
      if (resident) {
        s.tileSlot = ti;
        if (!tileLoaded[size_t(ti)]) {
          tileLoaded[size_t(ti)] = true;
          s.loads.push_back({Load::TileLoad, ti, ti, true});
          bytes += t.wBytes + t.xBytes;
        }
        if (!biasAllLoaded) {
          biasAllLoaded = true;
          s.loads.push_back({Load::BiasAllLoad, 0, 0, true});
          bytes += l.k * 8;
        }
      } else {
        auto [tileSlot, tileLoad] = tileCache.get(ti);
        s.tileSlot = tileSlot;
        if (tileLoad) {
          s.loads.push_back({Load::TileLoad, ti, tileSlot, true});
          bytes += t.wBytes + t.xBytes;
        }
        auto [biasSlot, biasLoad] = biasCache.get(t.group);
        s.biasSlot = biasSlot;
        if (biasLoad) {
          s.loads.push_back({Load::BiasLoad, t.group, biasSlot, true});
          bytes += t.mt * 8;
        }
      }
      // The input band goes last: weights are small and the rebuild needs
      // them before the first mac, while the band's first rows suffice.
      // A cascaded input is already there.
      if (bandLoad && inBase < 0) {
        s.loads.push_back({Load::BandLoad, bi, bandSlot, bandSlots == 2});
        bytes += bandBytes(bands[size_t(bi)]);
      }
      out.push_back(std::move(s));
    };
    auto visit = [&](int64_t bi, int64_t g) {
      int64_t t0 = g == 0 ? 0 : groupTiles[size_t(g - 1)];
      int64_t t1 = groupTiles[size_t(g)];
      std::vector<Chunk> chunks = bandChunks(bands[size_t(bi)]);
      if (!blocksSplit) {
        for (Chunk &c : chunks)
          c.id = chunkId++;
        addStep(bi, t0, std::move(chunks), true, true);
        return;
      }
      for (Chunk c : chunks) {
        c.id = chunkId++;
        for (int64_t ti = t0; ti < t1; ++ti)
          addStep(bi, ti, {c}, ti == t0, ti == t1 - 1);
      }
    };
    if (groupsOuter) {
      for (int64_t g = 0; g < numGroups; ++g)
        for (int64_t bi = 0; bi < int64_t(bands.size()); ++bi)
          visit(bi, g);
    } else {
      for (int64_t bi = 0; bi < int64_t(bands.size()); ++bi)
        for (int64_t g = 0; g < numGroups; ++g)
          visit(bi, g);
    }
    return bytes;
  }

  //===--------------------------------------------------------------------===//
  // Emission
  //===--------------------------------------------------------------------===//

  void push(const Instruction &inst) { out.push_back(inst); }

  void dma(bool store, DmaKind kind, int64_t dram, int64_t buf, int64_t length,
           int64_t count, int64_t stride) {
    emitDma(out, sched, store, kind, dram, buf, length, count, stride);
  }

  int64_t tileWAddr_(const Step &s) const {
    return resident ? tileWAddr[size_t(s.tile)] : s.tileSlot * wSlot;
  }
  int64_t tileXAddr_(const Step &s) const {
    return resident ? tileXAddr[size_t(s.tile)] : s.tileSlot * xSlot;
  }
  int64_t biasAddr(const Step &s) const {
    const Tile &t = tiles[size_t(s.tile)];
    return resident ? biasBase + t.k0 * 8
                    : biasBase + s.biasSlot * config.dimM * 8;
  }

  void emitLoad(const Load &load, const Step &s) {
    switch (load.what) {
    case Load::BandLoad: {
      const Band &b = bands[size_t(load.id)];
      int64_t base = bandBase + load.slot * bandSlotBytes;
      // [samples][rows][c][w] in the buffer: one DMA per input row gathers
      // that row of every channel (H*W apart in DRAM), so the first
      // positions can start before the whole band has arrived.
      if (l.h == 1) { // the band is contiguous in DRAM, as in the buffer
        dma(false, DmaKind::Act, addrs.input + b.n0 * l.c * l.w, base,
            b.samples * l.c * l.w, 1, 0);
        break;
      }
      for (int64_t n = b.n0; n < b.n0 + b.samples; ++n)
        for (int64_t ih = b.h0; ih < b.h0 + b.rows; ++ih)
          dma(false, DmaKind::Act, addrs.input + ((n * l.c) * l.h + ih) * l.w,
              base + ((n - b.n0) * b.rows + (ih - b.h0)) * l.c * l.w, l.w, l.c,
              l.h * l.w);
      break;
    }
    case Load::TileLoad: {
      const Tile &t = tiles[size_t(load.id)];
      int64_t w = tileWAddr_(s), x = tileXAddr_(s);
      const int64_t nb = l.blocks;
      if (se) {
        if (t.b0 == 0 && t.b1 == nb) {
          int64_t from = p.segOffset[size_t(t.k0 * nb)];
          int64_t to = p.segOffset[size_t((t.k0 + t.mt) * nb)];
          if (to > from)
            dma(false, DmaKind::Codes, addrs.codes + from, w, to - from, 1, 0);
        } else {
          int64_t at = w;
          for (int64_t o = t.k0; o < t.k0 + t.mt; ++o) {
            int64_t from = p.segOffset[size_t(o * nb + t.b0)];
            int64_t to = p.segOffset[size_t(o * nb + t.b1 - 1)] +
                         p.segBytes[size_t(o * nb + t.b1 - 1)];
            if (to > from)
              dma(false, DmaKind::Codes, addrs.codes + from, at, to - from, 1,
                  0);
            at += to - from;
          }
        }
        int64_t idx = l.indexBytesPerBlock();
        dma(false, DmaKind::Index, addrs.index + (t.k0 * nb + t.b0) * idx, x,
            (t.b1 - t.b0) * idx, t.mt, nb * idx);
        dma(false, DmaKind::Basis, addrs.basis + (t.k0 * nb + t.b0) * 9,
            w + t.codeBytes, (t.b1 - t.b0) * 9, t.mt, nb * 9);
      } else {
        const int64_t L = l.rowLength(), br3 = l.blockRows * 3;
        int64_t perChannel = std::min(t.b1 * br3, L) - t.b0 * br3;
        dma(false, DmaKind::Weights, addrs.weights + t.k0 * L + t.b0 * br3, w,
            perChannel, t.mt, L);
      }
      break;
    }
    case Load::BiasLoad: {
      const Tile &t = tiles[size_t(s.tile)];
      dma(false, DmaKind::Bias, addrs.bias + t.k0 * 8,
          biasBase + load.slot * config.dimM * 8, t.mt * 8, 1, 0);
      break;
    }
    case Load::BiasAllLoad:
      dma(false, DmaKind::Bias, addrs.bias, biasBase, l.k * 8, 1, 0);
      break;
    }
  }

  void emitCompute(const Step &s) {
    const Tile &t = tiles[size_t(s.tile)];
    const Band &band = bands[size_t(s.band)];
    if (currentBand != s.band || currentBandSlot != s.bandSlot) {
      push(Instruction(Opcode::CfgBand, {bandBase + s.bandSlot * bandSlotBytes,
                                         band.n0,
                                         band.samples, band.h0, band.rows}));
      currentBand = s.band;
      currentBandSlot = s.bandSlot;
    }
    if (currentTile != s.tile) {
      push(
          Instruction(Opcode::CfgTile, {t.mt, t.b0, t.b1 - t.b0, tileWAddr_(s),
                                        se ? tileXAddr_(s) : 0,
                                        se ? tileWAddr_(s) + t.codeBytes : 0}));
      currentTile = s.tile;
      // A new tile clears the rebuild engines.
      engineBlock[0] = engineBlock[1] = -1;
    }
    auto prepare = [&](int64_t bank, int64_t b) {
      if (se) {
        push(Instruction(Opcode::LoadB, {bank, b}));
        push(Instruction(Opcode::Rebuild, {bank, b}));
      } else {
        push(Instruction(Opcode::LoadW, {bank, b}));
      }
      engineBlock[bank] = b;
    };
    for (const Chunk &c : s.chunks) {
      int64_t acc = (c.id % 2) * accHalf;
      for (int64_t b = t.b0; b < t.b1; ++b) {
        int64_t bank;
        if (rebuildOnce) {
          bank = b - t.b0;
          if (engineBlock[bank] != b)
            prepare(bank, b);
        } else {
          bank = nextBank;
          nextBank = 1 - nextBank;
          prepare(bank, b);
        }
        push(Instruction(Opcode::Mac, {bank, c.pos0, c.npos, acc,
                                       s.first && b == t.b0 ? 1 : 0}));
      }
      if (!s.last)
        continue;
      int64_t obuf = (c.id % 2) * (config.output.bytes / 2);
      bool channelMajor = plane > 1;
      push(Instruction(Opcode::Requant,
                       {acc, c.npos, obuf, channelMajor ? c.npos : 1,
                        channelMajor ? 1 : t.mt, biasAddr(s)}));
      if (outBase >= 0) {
        moveOnChip(c, t, obuf, channelMajor);
      } else if (channelMajor) {
        int64_t n = c.pos0 / plane, q = c.pos0 % plane;
        dma(true, DmaKind::Act, addrs.output + (n * l.k + t.k0) * plane + q,
            obuf, c.npos, t.mt, plane);
      } else {
        dma(true, DmaKind::Act, addrs.output + c.pos0 * l.k + t.k0, obuf, t.mt,
            c.npos, l.k);
      }
      ++sched.chunks;
    }
  }

  /// A chunk's results into the next layer's input band at outBase, laid
  /// out [samples][rows][channels][columns]: one move per output row the
  /// chunk touches (every tile channel's stretch of that row), or one for
  /// the chunk of a fully connected layer.
  void moveOnChip(const Chunk &c, const Tile &t, int64_t obuf,
                  bool channelMajor) {
    if (!channelMajor) {
      push(Instruction(Opcode::Move, {obuf, outBase + c.pos0 * l.k + t.k0,
                                      t.mt, c.npos, t.mt, l.k}));
      return;
    }
    const int64_t n = c.pos0 / plane, q0 = c.pos0 % plane, q1 = q0 + c.npos;
    for (int64_t row = q0 / l.ow; row * l.ow < q1; ++row) {
      int64_t c0 = std::max(q0, row * l.ow), c1 = std::min(q1, (row + 1) * l.ow);
      push(Instruction(Opcode::Move,
                       {obuf + c0 - q0,
                        outBase + ((n * l.oh + row) * l.k + t.k0) * l.ow +
                            (c0 - row * l.ow),
                        c1 - c0, t.mt, c.npos, l.ow}));
    }
  }

  void emit() {
    push(Instruction(Opcode::Layer, {layerIndex}));
    push(Instruction(Opcode::CfgInput, {l.n, l.c, l.h, l.w}));
    push(Instruction(Opcode::CfgOutput, {l.k, l.oh, l.ow}));
    push(Instruction(Opcode::CfgKernel,
                     {l.r, l.s, l.strideH, l.strideW, l.padTop, l.padLeft}));
    push(
        Instruction(Opcode::CfgWeight, {l.format, l.blocks, l.blockRows,
                                        se ? l.codeBits : config.ceBits,
                                        se ? l.minExp : 0, se ? l.maxExp : 0}));
    push(Instruction(Opcode::CfgQuant, {l.multiplier, l.shift, l.relu}));
    if (steps.empty())
      return;
    for (const Load &load : steps[0].loads)
      emitLoad(load, steps[0]);
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step *next = i + 1 < steps.size() ? &steps[i + 1] : nullptr;
      if (next)
        for (const Load &load : next->loads)
          if (load.hoist)
            emitLoad(load, *next);
      emitCompute(steps[i]);
      if (next)
        for (const Load &load : next->loads)
          if (!load.hoist)
            emitLoad(load, *next);
    }
    push(Instruction(Opcode::Sync, {}));
  }

  const HardwareConfig &config;
  const PackedLayer &p;
  const LayerDecl &l;
  int64_t layerIndex;
  LayerAddrs addrs;
  LoopOrder order;
  const TileChoice &want;
  int64_t inBase;  ///< Input-buffer address of a cascaded input, or -1.
  int64_t outBase; ///< Input-buffer address the output cascades to, or -1.
  std::vector<Instruction> &out;
  LayerSchedule &sched;

  bool se = true;
  int64_t plane = 1, accHalf = 1;
  // Weight tiles.
  bool resident = false, blocksSplit = false, rebuildOnce = false;
  int64_t wSlot = 0, xSlot = 0, biasBase = 0, numGroups = 0;
  std::vector<Tile> tiles;
  std::vector<int64_t> groupTiles; ///< End tile of each group.
  std::vector<int64_t> tileWAddr, tileXAddr;
  // Input bands.
  int64_t bandSlots = 1, bandSlotBytes = 0, bandBase = 0, chunkMax = 1;
  std::vector<Band> bands;
  std::vector<Step> steps;
  // Emission state.
  int64_t currentBand = -1, currentBandSlot = -1, currentTile = -1;
  int64_t engineBlock[2] = {-1, -1};
  int64_t nextBank = 0;
};
} // namespace

//===----------------------------------------------------------------------===//
// Schedules
//===----------------------------------------------------------------------===//

JsonValue LayerSchedule::toJson() const {
  JsonValue v = JsonValue::object();
  v.set("name", JsonValue::string(name));
  v.set("format", JsonValue::string(format));
  v.set("loop_order", JsonValue::string(loopOrder));
  v.set("channels_per_group", JsonValue::integer(channelsPerGroup));
  v.set("groups", JsonValue::integer(groups));
  v.set("weight_tiles", JsonValue::integer(blockTiles));
  v.set("weights_resident", JsonValue::boolean(weightsResident));
  v.set("blocks_split", JsonValue::boolean(blocksSplit));
  v.set("rebuilt_once_per_band", JsonValue::boolean(rebuiltOnce));
  v.set("bands", JsonValue::integer(bands));
  v.set("band_kind", JsonValue::string(bandKind));
  if (bandKind == "rows")
    v.set("band_output_rows", JsonValue::integer(bandOutputRows));
  else
    v.set("band_samples", JsonValue::integer(bandSamples));
  v.set("input_resident", JsonValue::boolean(inputResident));
  v.set("input_on_chip", JsonValue::boolean(inputOnChip));
  v.set("output_on_chip", JsonValue::boolean(outputOnChip));
  v.set("chunk_positions", JsonValue::integer(chunkPositions));
  v.set("chunks", JsonValue::integer(chunks));
  v.set("instructions", JsonValue::integer(instructions));
  if (format == "se") {
    v.set("nonzero_rows", JsonValue::integer(nonZeroRows));
    v.set("rows", JsonValue::integer(totalRows));
  }
  JsonValue &dram = v.set("dram_bytes", JsonValue::object());
  dram.set("input", JsonValue::integer(dramInputBytes));
  dram.set("weights", JsonValue::integer(dramWeightBytes));
  dram.set("output", JsonValue::integer(dramOutputBytes));
  int64_t total = dramInputBytes + dramWeightBytes + dramOutputBytes;
  dram.set("total", JsonValue::integer(total));
  dram.set("compulsory", JsonValue::integer(compulsoryBytes));
  dram.set("over_compulsory",
           JsonValue::number(compulsoryBytes
                                 ? double(total) / double(compulsoryBytes)
                                 : 0.0));
  v.set("weight_data_bytes", JsonValue::integer(weightDataBytes));
  return v;
}

std::string cascadeRefusal(const HardwareConfig &config, const LayerSpec &spec,
                           const std::vector<int64_t> &inShape,
                           const std::vector<int64_t> &outShape,
                           const LayerSpec &next) {
  auto weighted = [](const LayerSpec &l) {
    return (l.kind == LayerKind::Conv ||
            l.kind == LayerKind::FullyConnected) &&
           (l.format == WeightFormat::SmartExchange ||
            l.format == WeightFormat::Dense);
  };
  if (!weighted(spec))
    return "only convolutions and fully connected layers (se or dense) "
           "cascade";
  if (!weighted(next))
    return "the next layer is not a convolution or fully connected layer "
           "(se or dense)";
  if (next.kind == LayerKind::FullyConnected && outShape.size() == 4 &&
      outShape[2] * outShape[3] != 1)
    return "the next layer flattens a [N, C, H, W] tensor, which its input "
           "band lays out differently";
  if (spec.tiling.bandOutputRows > 0 || next.tiling.bandOutputRows > 0)
    return "a recorded tiling loads row bands";
  int64_t inBytes = 1, outBytes = 1;
  for (int64_t d : inShape)
    inBytes *= d;
  for (int64_t d : outShape)
    outBytes *= d;
  if (inBytes + outBytes > config.input.bytes)
    return "its input (" + std::to_string(inBytes) + " bytes) and output (" +
           std::to_string(outBytes) + ") do not fit the input buffer of " +
           std::to_string(config.input.bytes) + " together";
  return "";
}

const char *loopOrderName(LoopOrder order) {
  switch (order) {
  case LoopOrder::BandsOuter:
    return "bands-outer";
  case LoopOrder::GroupsOuter:
    return "groups-outer";
  case LoopOrder::Auto:
    break;
  }
  return "auto";
}

bool parseLoopOrder(const std::string &name, LoopOrder &order) {
  for (LoopOrder o : {LoopOrder::BandsOuter, LoopOrder::GroupsOuter})
    if (name == loopOrderName(o)) {
      order = o;
      return true;
    }
  return false;
}

bool planLayerTiling(const HardwareConfig &config,
                     const std::vector<int64_t> &inputShape,
                     const LayerSpec &spec, TileChoice &choice,
                     std::string &error) {
  if (spec.kind != LayerKind::Conv && spec.kind != LayerKind::FullyConnected) {
    error = "only convolutions and fully connected layers have a tiling";
    return false;
  }
  if (spec.format == WeightFormat::PermDiag) {
    error = "permdiag layers are tiled by the PermDNN engine mode";
    return false;
  }
  // The layer alone in a program: the builder's own choice, unrecorded.
  ProgramBuilder builder(config);
  LayerSpec alone = spec;
  alone.input = "x";
  alone.output = "y";
  alone.tiling = TileChoice();
  Program program;
  if (!builder.addInput("x", inputShape, error) ||
      !builder.addLayer(alone, error) || !builder.build(program, error))
    return false;
  const LayerSchedule &s = builder.schedules().front();
  choice.channelsPerGroup = s.channelsPerGroup;
  choice.blocksSplit = s.blocksSplit;
  choice.bandOutputRows = s.bandKind == "rows" ? s.bandOutputRows : 0;
  if (!parseLoopOrder(s.loopOrder, choice.loopOrder)) {
    error = "internal error: unknown loop order '" + s.loopOrder + "'";
    return false;
  }
  return true;
}

JsonValue scheduleReportJson(const std::vector<LayerSchedule> &schedules) {
  JsonValue v = JsonValue::object();
  JsonValue &layers = v.set("layers", JsonValue::array());
  for (const LayerSchedule &s : schedules)
    layers.push(s.toJson());
  return v;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

ProgramBuilder::ProgramBuilder(const HardwareConfig &config)
    : config_(config) {}

int64_t ProgramBuilder::findTensor(const std::string &name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name)
      return int64_t(i);
  return -1;
}

bool ProgramBuilder::addInput(const std::string &name,
                              std::vector<int64_t> shape, std::string &error) {
  if (!validName(name)) {
    error = "input name '" + name +
            "' must be 1-255 characters of "
            "[A-Za-z0-9_.:/-]";
    return false;
  }
  if (findTensor(name) >= 0) {
    error = "tensor '" + name + "' is declared twice";
    return false;
  }
  if (shape.empty() || shape.size() > 4) {
    error = "input '" + name + "' must have rank 1 to 4";
    return false;
  }
  for (int64_t d : shape)
    if (d < 1) {
      error = "input '" + name + "' has a non-positive dimension";
      return false;
    }
  tensors_.push_back({name, std::move(shape), TensorRole::Input});
  return true;
}

bool ProgramBuilder::markOutput(const std::string &name, std::string &error) {
  int64_t t = findTensor(name);
  if (t < 0) {
    error = "no tensor '" + name + "' to mark as an output";
    return false;
  }
  if (tensors_[size_t(t)].role == TensorRole::Input) {
    error = "network input '" + name + "' cannot also be an output";
    return false;
  }
  tensors_[size_t(t)].role = TensorRole::Output;
  return true;
}

bool ProgramBuilder::addLayer(const LayerSpec &specIn, std::string &error) {
  if (isNetworkLayerKind(int64_t(specIn.kind)))
    return addNetworkLayer(specIn, error);
  LayerSpec spec = specIn;
  std::string where = "layer '" + spec.name + "'";
  auto fail = [&](const std::string &text) {
    error = where + ": " + text;
    return false;
  };
  if (!validName(spec.name)) {
    error = "layer name '" + spec.name +
            "' must be 1-255 characters of [A-Za-z0-9_.:/-]";
    return false;
  }
  for (const LayerSpec &other : layers_)
    if (other.name == spec.name)
      return fail("a layer of that name exists already");
  int64_t in = findTensor(spec.input);
  if (in < 0)
    return fail("no input tensor '" + spec.input + "'");
  if (!validName(spec.output) || findTensor(spec.output) >= 0)
    return fail("output tensor '" + spec.output +
                "' must be a new, valid name");
  const std::vector<int64_t> &inShape = tensors_[size_t(in)].shape;
  int64_t n = inShape[0], c = 1, h = 1, w = 1;
  if (spec.kind == LayerKind::FullyConnected) {
    for (size_t i = 1; i < inShape.size(); ++i)
      c *= inShape[i];
    spec.kernelH = spec.kernelW = spec.strideH = spec.strideW = 1;
    spec.padTop = spec.padLeft = spec.padBottom = spec.padRight = 0;
  } else {
    if (inShape.size() != 4)
      return fail("a convolution needs an NCHW input, '" + spec.input +
                  "' has rank " + std::to_string(inShape.size()));
    c = inShape[1];
    h = inShape[2];
    w = inShape[3];
  }
  if (spec.padBottom < 0)
    spec.padBottom = spec.padTop;
  if (spec.padRight < 0)
    spec.padRight = spec.padLeft;
  const int64_t K = spec.outChannels;
  if (K < 1 || K >= (1 << 20))
    return fail("output channels must be in [1, 2^20)");
  if (c >= (1 << 20) || n > 65535 || h > 65535 || w > 65535)
    return fail("input dimensions exceed the instruction fields");
  if (spec.kernelH < 1 || spec.kernelH > 15 || spec.kernelW < 1 ||
      spec.kernelW > 15 || spec.strideH < 1 || spec.strideH > 15 ||
      spec.strideW < 1 || spec.strideW > 15)
    return fail("kernel sizes and strides must be in [1, 15]");
  if (spec.padTop < 0 || spec.padTop >= spec.kernelH || spec.padLeft < 0 ||
      spec.padLeft >= spec.kernelW || spec.padBottom >= spec.kernelH ||
      spec.padRight >= spec.kernelW)
    return fail("padding must be smaller than the kernel");
  int64_t oh =
      (h + spec.padTop + spec.padBottom - spec.kernelH) / spec.strideH + 1;
  int64_t ow =
      (w + spec.padLeft + spec.padRight - spec.kernelW) / spec.strideW + 1;
  if (h + spec.padTop + spec.padBottom < spec.kernelH ||
      w + spec.padLeft + spec.padRight < spec.kernelW || oh < 1 || ow < 1)
    return fail("the kernel is larger than the padded input");
  const int64_t L = c * spec.kernelH * spec.kernelW;
  std::vector<int64_t> weightShape =
      spec.kind == LayerKind::FullyConnected
          ? std::vector<int64_t>{K, c}
          : std::vector<int64_t>{K, c, spec.kernelH, spec.kernelW};
  if (spec.format == WeightFormat::PermDiag) {
    // PermDNN layers keep their blocks out of the row layout (PermDiag.h).
    std::string pdError = checkPermDiagSpec(spec, c, config_);
    if (!pdError.empty())
      return fail(pdError);
    spec.layout.shape = weightShape;
    spec.layout.blockRows = spec.blockSize;
    spec.layout.numBlocks = (c + spec.blockSize - 1) / spec.blockSize;
    tensors_.push_back({spec.output, {n, K}, TensorRole::Internal});
    layers_.push_back(std::move(spec));
    return true;
  }
  const int64_t maxBlockRows =
      std::min<int64_t>({255, config_.dimC * config_.weightRfRows});
  // An se layout without a shape gets the layer's weight shape (the caller
  // gave only the blocks).
  if (spec.format == WeightFormat::SmartExchange && spec.layout.shape.empty())
    spec.layout.shape = weightShape;
  if (spec.format == WeightFormat::Dense) {
    if (spec.layout.shape.empty())
      spec.layout = compression::BlockLayout::canonical(
          weightShape,
          std::min<int64_t>(compression::kDefaultMaxBlockRows, maxBlockRows));
    if (int64_t(spec.weights.size()) != K * L)
      return fail("dense weights hold " + std::to_string(spec.weights.size()) +
                  " values, expected K x C x R x S = " + std::to_string(K * L));
  }
  if (spec.layout.numOutputs() != K || spec.layout.rowLength() != L)
    return fail("the block layout's weight shape does not match K = " +
                std::to_string(K) + " outputs of " + std::to_string(L) +
                " weights");
  std::string layoutError = spec.layout.verify();
  if (!layoutError.empty())
    return fail(layoutError);
  if (spec.layout.blockRows > maxBlockRows)
    return fail("blocks of " + std::to_string(spec.layout.blockRows) +
                " rows exceed the " + std::to_string(maxBlockRows) +
                " rows the PE lines' weight register files hold (dim_c x "
                "weight_rf_rows, at most 255)");
  if (spec.format == WeightFormat::SmartExchange) {
    if (spec.codeBits == 0)
      spec.codeBits = config_.ceBits;
    if (!spec.range.isValid())
      return fail("empty exponent range");
    int64_t levels = spec.range.levels();
    int64_t capacity = (int64_t(1) << (spec.codeBits - 1)) - 1;
    if (spec.codeBits < 2 || spec.codeBits > config_.ceBits)
      return fail("code width " + std::to_string(spec.codeBits) +
                  " must be in [2, " + std::to_string(config_.ceBits) +
                  "] (ce_bits of the configuration)");
    if (levels > capacity)
      return fail("exponent range [" + std::to_string(spec.range.minExp) +
                  ", " + std::to_string(spec.range.maxExp) + "] has " +
                  std::to_string(levels) + " levels; the " +
                  std::to_string(spec.codeBits) + "-bit Ce codes hold " +
                  std::to_string(capacity) +
                  " (raise ce_bits in the hardware configuration or "
                  "narrow the range)");
    if (levels > config_.maxExponentLevels())
      return fail("exponent range [" + std::to_string(spec.range.minExp) +
                  ", " + std::to_string(spec.range.maxExp) + "] has " +
                  std::to_string(levels) +
                  " levels; rebuilt weights of more "
                  "than " +
                  std::to_string(config_.maxExponentLevels()) +
                  " overflow the " + std::to_string(config_.rebuiltWeightBits) +
                  "-bit weight registers (rebuilt_weight_bits)");
    if (spec.range.minExp < -128 || spec.range.maxExp > 127)
      return fail("exponents must fit int8");
    if (int64_t(spec.codes.size()) != spec.layout.numCodes())
      return fail("codes hold " + std::to_string(spec.codes.size()) +
                  " values, the layout needs " +
                  std::to_string(spec.layout.numCodes()));
    if (int64_t(spec.basis.size()) != spec.layout.numBasis())
      return fail("bases hold " + std::to_string(spec.basis.size()) +
                  " values, the layout needs " +
                  std::to_string(spec.layout.numBasis()));
    for (size_t i = 0; i < spec.codes.size(); ++i)
      if (spec.codes[i] < -levels || spec.codes[i] > levels)
        return fail("code " + std::to_string(spec.codes[i]) + " at " +
                    std::to_string(i) + " is outside the " +
                    std::to_string(levels) + " exponent levels");
  }
  if (!spec.bias.empty() && int64_t(spec.bias.size()) != K)
    return fail("bias holds " + std::to_string(spec.bias.size()) +
                " values, expected " + std::to_string(K));
  if (spec.multiplier < (1 << 14) || spec.multiplier >= (1 << 15) ||
      spec.shift < 1 || spec.shift > 62)
    return fail("requantization needs M in [2^14, 2^15) and S in [1, 62]");
  tensors_.push_back({spec.output,
                      spec.kind == LayerKind::FullyConnected
                          ? std::vector<int64_t>{n, K}
                          : std::vector<int64_t>{n, K, oh, ow},
                      TensorRole::Internal});
  layers_.push_back(std::move(spec));
  return true;
}

bool ProgramBuilder::placeCascades(std::vector<int64_t> &inOnChip,
                                   std::vector<int64_t> &outOnChip,
                                   std::string &error) const {
  const int64_t ibuf = config_.input.bytes;
  for (size_t li = 0; li < layers_.size(); ++li) {
    const LayerSpec &spec = layers_[li];
    if (!spec.cascadeOutput)
      continue;
    auto refuse = [&](const std::string &why) {
      error = "layer '" + spec.name + "' cannot keep its output on chip: " +
              why;
      return false;
    };
    if (li + 1 == layers_.size() || layers_[li + 1].input != spec.output)
      return refuse("the next layer does not read it");
    for (size_t j = 0; j < layers_.size(); ++j)
      if (j != li + 1 && (layers_[j].input == spec.output ||
                          layers_[j].input2 == spec.output))
        return refuse("layer '" + layers_[j].name + "' reads it too");
    const Tensor &in = tensors_[size_t(findTensor(spec.input))];
    const Tensor &outT = tensors_[size_t(findTensor(spec.output))];
    if (outT.role == TensorRole::Output)
      return refuse("it is a network output");
    std::string why =
        cascadeRefusal(config_, spec, in.shape, outT.shape, layers_[li + 1]);
    if (!why.empty())
      return refuse(why);
    // The output goes to the end of the input buffer this layer's input
    // does not use: the top when the input sits at 0, else the bottom.
    int64_t outBytes = 1;
    for (int64_t d : outT.shape)
      outBytes *= d;
    outOnChip[li] = inOnChip[li] > 0 ? 0 : ibuf - outBytes;
    inOnChip[li + 1] = outOnChip[li];
  }
  return true;
}

bool ProgramBuilder::build(Program &program, std::string &error) {
  Program result;
  result.fingerprint = config_.fingerprint();
  schedules_.clear();
  int64_t addr = 0;
  for (const Tensor &t : tensors_) {
    TensorDecl decl;
    decl.name = t.name;
    decl.role = t.role;
    decl.shape = t.shape;
    decl.dramAddr = uint64_t(addr);
    addr = alignUp(addr + decl.numBytes(), kAlign);
    result.tensors.push_back(std::move(decl));
  }
  std::vector<int64_t> inOnChip(layers_.size(), -1),
      outOnChip(layers_.size(), -1);
  if (!placeCascades(inOnChip, outOnChip, error))
    return false;
  for (size_t li = 0; li < layers_.size(); ++li) {
    const LayerSpec &spec = layers_[li];
    if (isNetworkLayerKind(int64_t(spec.kind))) {
      if (!buildNetworkLayer(li, result, addr, error))
        return false;
      continue;
    }
    const std::vector<int64_t> &inShape =
        tensors_[size_t(findTensor(spec.input))].shape;
    const std::vector<int64_t> &outShape =
        tensors_[size_t(findTensor(spec.output))].shape;
    LayerDecl d;
    d.name = spec.name;
    d.kind = int64_t(spec.kind);
    d.format = int64_t(spec.format);
    d.input = findTensor(spec.input);
    d.output = findTensor(spec.output);
    d.n = inShape[0];
    d.k = spec.outChannels;
    if (spec.kind == LayerKind::FullyConnected) {
      d.c = 1;
      for (size_t i = 1; i < inShape.size(); ++i)
        d.c *= inShape[i];
      d.h = d.w = d.oh = d.ow = 1;
    } else {
      d.c = inShape[1];
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
    d.blocks = spec.layout.numBlocks;
    d.blockRows = spec.layout.blockRows;
    bool se = spec.format == WeightFormat::SmartExchange;
    d.codeBits = se ? spec.codeBits : 0;
    d.minExp = se ? spec.range.minExp : 0;
    d.maxExp = se ? spec.range.maxExp : 0;
    d.fracBitsB =
        se || spec.format == WeightFormat::PermDiag ? spec.fracBitsB : 0;
    d.multiplier = spec.multiplier;
    d.shift = spec.shift;
    d.relu = spec.relu ? 1 : 0;

    PackedLayer packed = pack(spec, d);
    LayerAddrs addrs;
    addrs.input = int64_t(result.tensors[size_t(d.input)].dramAddr);
    addrs.output = int64_t(result.tensors[size_t(d.output)].dramAddr);
    auto segment = [&](DmaKind kind, const std::vector<uint8_t> &bytes,
                       int64_t &at) {
      at = addr;
      DataSegment s;
      s.kind = kind;
      s.layer = int64_t(li);
      s.dramAddr = uint64_t(addr);
      addr = alignUp(addr + int64_t(bytes.size()), kAlign);
      s.bytes = bytes;
      result.segments.push_back(std::move(s));
    };
    LayerSchedule sched;
    sched.name = d.name;
    sched.format = weightFormatName(d.weightFormat());
    if (se) {
      // An se layer whose Ce rows are all zero has an empty codes segment.
      segment(DmaKind::Codes, packed.codes, addrs.codes);
      segment(DmaKind::Index, packed.index, addrs.index);
      segment(DmaKind::Basis, packed.basis, addrs.basis);
      sched.nonZeroRows = packed.nonZeroRows;
      sched.totalRows = d.k * d.blocks * d.blockRows;
      sched.weightDataBytes = int64_t(
          packed.codes.size() + packed.index.size() + packed.basis.size());
    } else {
      segment(DmaKind::Weights, packed.weights, addrs.weights);
      sched.weightDataBytes = int64_t(packed.weights.size());
    }
    segment(DmaKind::Bias, packed.bias, addrs.bias);
    sched.weightDataBytes += d.k * 8;
    sched.inputOnChip = inOnChip[li] >= 0;
    sched.outputOnChip = outOnChip[li] >= 0;
    result.layers.push_back(d);
    if (d.weightFormat() == WeightFormat::PermDiag) {
      if (!emitPermDiagLayer(
              config_, d, int64_t(li),
              {addrs.input, addrs.output, addrs.weights, addrs.bias},
              result.instructions, sched, error))
        return false;
      schedules_.push_back(std::move(sched));
      continue;
    }
    LayerEmitter emitter(config_, packed, int64_t(li), addrs, loopOrder_,
                         spec.tiling, inOnChip[li], outOnChip[li],
                         result.instructions, sched);
    if (!emitter.run(error))
      return false;
    schedules_.push_back(std::move(sched));
  }
  if (addr > (int64_t(1) << 32)) {
    error = "the program needs " + std::to_string(addr) +
            " bytes of DRAM, more than the 32-bit address space";
    return false;
  }
  std::vector<int64_t> compulsory = compulsoryDramBytes(result);
  for (size_t i = 0; i < schedules_.size() && i < compulsory.size(); ++i)
    schedules_[i].compulsoryBytes = compulsory[i];
  std::string verifyError = verifyProgram(result, config_);
  if (!verifyError.empty()) {
    error = "internal error: the built program does not verify: " + verifyError;
    return false;
  }
  program = std::move(result);
  return true;
}

//===----------------------------------------------------------------------===//
// Arithmetic helpers
//===----------------------------------------------------------------------===//

using compression::roundHalfAway;

std::vector<int32_t> rebuiltWeights(const LayerSpec &spec) {
  if (spec.format == WeightFormat::PermDiag)
    return permDiagDenseWeights(spec);
  const compression::BlockLayout &layout = spec.layout;
  const int64_t K = layout.numOutputs(), L = layout.rowLength();
  std::vector<int32_t> w(size_t(K * L), 0);
  if (spec.format == WeightFormat::Dense) {
    for (size_t i = 0; i < w.size() && i < spec.weights.size(); ++i)
      w[i] = spec.weights[i];
    return w;
  }
  const int64_t nb = layout.numBlocks, br = layout.blockRows;
  for (int64_t o = 0; o < K; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const int8_t *basis = &spec.basis[size_t((o * nb + b) * 9)];
      for (int64_t r = 0; r < br; ++r) {
        const int8_t *codes = &spec.codes[size_t(((o * nb + b) * br + r) * 3)];
        for (int64_t j = 0; j < 3; ++j) {
          int64_t offset = layout.denseOffset(o, b, r, j);
          if (offset < 0)
            continue;
          int64_t v = 0;
          for (int64_t k = 0; k < 3; ++k) {
            int c = codes[k];
            if (c == 0)
              continue;
            int64_t term =
                int64_t(basis[k * 3 + j]) * (int64_t(1) << (std::abs(c) - 1));
            v += c < 0 ? -term : term;
          }
          w[size_t(offset)] = int32_t(v);
        }
      }
    }
  return w;
}

//===----------------------------------------------------------------------===//
// Layers back out of programs, and the dense baseline
//===----------------------------------------------------------------------===//

bool extractLayerSpec(const Program &program, int64_t index, LayerSpec &spec,
                      std::string &error) {
  if (index < 0 || index >= int64_t(program.layers.size())) {
    error = "no layer " + std::to_string(index);
    return false;
  }
  const LayerDecl &l = program.layers[size_t(index)];
  LayerSpec s;
  s.name = l.name;
  s.kind = l.layerKind();
  s.format = l.weightFormat();
  s.input = program.tensors[size_t(l.input)].name;
  s.output = program.tensors[size_t(l.output)].name;
  s.outChannels = l.k;
  s.kernelH = l.r;
  s.kernelW = l.s;
  s.strideH = l.strideH;
  s.strideW = l.strideW;
  s.padTop = l.padTop;
  s.padLeft = l.padLeft;
  // The padding below/right that reproduces oh and ow.
  s.padBottom =
      std::max<int64_t>(0, (l.oh - 1) * l.strideH + l.r - l.h - l.padTop);
  s.padRight =
      std::max<int64_t>(0, (l.ow - 1) * l.strideW + l.s - l.w - l.padLeft);
  s.layout.shape = s.kind == LayerKind::FullyConnected
                       ? std::vector<int64_t>{l.k, l.c}
                       : std::vector<int64_t>{l.k, l.c, l.r, l.s};
  s.layout.numBlocks = l.blocks;
  s.layout.blockRows = l.blockRows;
  s.multiplier = l.multiplier;
  s.shift = l.shift;
  s.relu = l.relu != 0;
  // A layer that moves its results into the input buffer cascades them.
  int64_t current = -1;
  for (const Instruction &inst : program.instructions) {
    if (inst.opcode == Opcode::Layer)
      current = inst[field::Layer::Layer];
    else if (inst.opcode == Opcode::Move && current == index)
      s.cascadeOutput = true;
  }
  if (isNetworkLayerKind(l.kind)) {
    // No weights: the window (or the second operand) is all there is.
    s.layout = {};
    s.padBottom = std::max<int64_t>(0, s.padBottom);
    s.padRight = std::max<int64_t>(0, s.padRight);
    if (s.kind == LayerKind::Add) {
      if (l.input2 < 0 || l.input2 >= int64_t(program.tensors.size())) {
        error = "layer '" + l.name + "' has no valid second input";
        return false;
      }
      s.input2 = program.tensors[size_t(l.input2)].name;
      s.multiplier2 = l.multiplier2;
    }
    if (s.kind == LayerKind::Depthwise) {
      const DataSegment *w = program.findSegment(index, DmaKind::Weights);
      const DataSegment *b = program.findSegment(index, DmaKind::Bias);
      if (!w || !b || int64_t(b->bytes.size()) != l.c * 8) {
        error = "layer '" + l.name + "' lacks valid weights or biases";
        return false;
      }
      s.weights.assign(w->bytes.begin(), w->bytes.end());
      s.bias.assign(size_t(l.c), 0);
      for (int64_t o = 0; o < l.c; ++o)
        for (int i = 0; i < 8; ++i)
          s.bias[size_t(o)] |= int64_t(uint64_t(b->bytes[size_t(o * 8 + i)])
                                       << (8 * i));
    }
    spec = std::move(s);
    return true;
  }
  const DataSegment *bias = program.findSegment(index, DmaKind::Bias);
  if (!bias || int64_t(bias->bytes.size()) != l.k * 8) {
    error = "layer '" + l.name + "' has no valid bias segment";
    return false;
  }
  s.bias.resize(size_t(l.k));
  for (int64_t o = 0; o < l.k; ++o) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= uint64_t(bias->bytes[size_t(o * 8 + i)]) << (8 * i);
    s.bias[size_t(o)] = int64_t(v);
  }
  if (s.format == WeightFormat::PermDiag) {
    const DataSegment *w = program.findSegment(index, DmaKind::Weights);
    s.fracBitsB = l.fracBitsB;
    if (!w || !unpackPermDiagRecords(l, w->bytes, s, error)) {
      if (!w)
        error = "layer '" + l.name + "' has no weights segment";
      return false;
    }
    spec = std::move(s);
    return true;
  }
  if (s.format == WeightFormat::Dense) {
    const DataSegment *w = program.findSegment(index, DmaKind::Weights);
    if (!w || int64_t(w->bytes.size()) != l.k * l.rowLength()) {
      error = "layer '" + l.name + "' has no valid weights segment";
      return false;
    }
    s.weights.assign(w->bytes.begin(), w->bytes.end());
    spec = std::move(s);
    return true;
  }
  s.range = {int(l.minExp), int(l.maxExp)};
  s.codeBits = l.codeBits;
  s.fracBitsB = l.fracBitsB;
  const DataSegment *codes = program.findSegment(index, DmaKind::Codes);
  const DataSegment *idx = program.findSegment(index, DmaKind::Index);
  const DataSegment *basis = program.findSegment(index, DmaKind::Basis);
  const int64_t nb = l.blocks, br = l.blockRows, ib = l.indexBytesPerBlock();
  if (!codes || !idx || !basis || int64_t(idx->bytes.size()) != l.k * nb * ib ||
      int64_t(basis->bytes.size()) != l.k * nb * 9) {
    error = "layer '" + l.name + "' lacks valid codes, index or basis data";
    return false;
  }
  s.basis.assign(basis->bytes.begin(), basis->bytes.end());
  s.codes.assign(size_t(l.k * nb * br * 3), 0);
  int64_t offset = 0;
  for (int64_t ob = 0; ob < l.k * nb; ++ob) {
    const uint8_t *bits = &idx->bytes[size_t(ob * ib)];
    int64_t rows = popcount(bits, ib);
    int64_t bytes = codeSegmentBytes(rows, l.codeBits);
    if (offset + bytes > int64_t(codes->bytes.size())) {
      error = "layer '" + l.name + "': codes segment too short";
      return false;
    }
    std::vector<int8_t> unpacked(size_t(rows * 3));
    if (rows > 0)
      unpackCodes(&codes->bytes[size_t(offset)], rows * 3, l.codeBits,
                  unpacked.data());
    int64_t i = 0;
    for (int64_t r = 0; r < br && i < rows * 3; ++r) {
      if (!((bits[r / 8] >> (r % 8)) & 1))
        continue;
      for (int64_t k = 0; k < 3; ++k, ++i)
        s.codes[size_t((ob * br + r) * 3 + k)] = unpacked[size_t(i)];
    }
    offset += bytes;
  }
  spec = std::move(s);
  return true;
}

bool toDenseLayer(const LayerSpec &spec, LayerSpec &dense, std::string &error) {
  if (spec.format == WeightFormat::Dense) {
    dense = spec;
    return true;
  }
  std::vector<int32_t> wi = rebuiltWeights(spec);
  int64_t maxAbs = 0;
  for (int32_t v : wi)
    maxAbs = std::max<int64_t>(maxAbs, std::abs(int64_t(v)));
  // Per-layer scale: Wq = Wi * 127 / max|Wi| (one unit of Wq is maxAbs/127
  // units of Wi). An all-zero weight keeps scale 1.
  double scale = maxAbs ? double(maxAbs) / 127.0 : 1.0;
  LayerSpec d = spec;
  d.format = WeightFormat::Dense;
  d.pdOffsets.clear();
  d.pdValues.clear();
  d.codes.clear();
  d.basis.clear();
  d.codeBits = 0;
  d.weights.resize(wi.size());
  for (size_t i = 0; i < wi.size(); ++i)
    d.weights[i] = int8_t(
        std::clamp<int64_t>(roundHalfAway(double(wi[i]) / scale), -127, 127));
  d.bias.resize(spec.bias.size());
  for (size_t i = 0; i < spec.bias.size(); ++i)
    d.bias[i] = roundHalfAway(double(spec.bias[i]) / scale);
  double m = std::ldexp(double(spec.multiplier), -int(spec.shift)) * scale;
  compression::Requantization requant;
  if (!compression::computeRequantization(m, requant, error)) {
    error = "layer '" + spec.name + "' (dense baseline): " + error;
    return false;
  }
  d.multiplier = requant.multiplier;
  d.shift = requant.shift;
  // Dense layers take the canonical layout (rows of 3 in blocks).
  d.layout.shape.clear();
  dense = std::move(d);
  return true;
}

bool buildDenseBaseline(const Program &program, const HardwareConfig &config,
                        Program &dense, std::string &error,
                        std::vector<LayerSchedule> *schedules) {
  ProgramBuilder builder(config);
  for (const TensorDecl &t : program.tensors)
    if (t.role == TensorRole::Input &&
        !builder.addInput(t.name, t.shape, error))
      return false;
  for (size_t i = 0; i < program.layers.size(); ++i) {
    LayerSpec spec, d;
    if (!extractLayerSpec(program, int64_t(i), spec, error) ||
        !toDenseLayer(spec, d, error) || !builder.addLayer(d, error))
      return false;
  }
  for (const TensorDecl &t : program.tensors)
    if (t.role == TensorRole::Output && !builder.markOutput(t.name, error))
      return false;
  if (!builder.build(dense, error))
    return false;
  if (schedules)
    *schedules = builder.schedules();
  return true;
}

} // namespace sd::sdacc

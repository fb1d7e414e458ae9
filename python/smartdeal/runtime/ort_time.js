// ort_time.js - Median latency of one ONNX model under ONNX Runtime (npm onnxruntime-node).
//
// Usage: node ort_time.js MODULE_DIR MODEL.onnx SHAPE(e.g. 1,3,48,320) THREADS ITERS
// Prints one JSON line {"median_ms": ..., "times_ms": [...]}; the input is a
// fixed pseudo-random tensor, the same for every run.
const [moduleDir, model, shapeText, threads, iters] = process.argv.slice(2);
const ort = require(moduleDir);
(async () => {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const shape = shapeText.split(',').map(Number);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let seed = 1;
  for (let i = 0; i < data.length; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 2147483648 - 0.5;
  }
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  for (let i = 0; i < 3; ++i) await session.run(feeds);  // warm-up
  const times = [];
  for (let i = 0; i < Number(iters); ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: sorted[Math.floor(sorted.length / 2)], times_ms: times}));
})().catch((e) => { console.error(String(e)); process.exit(1); });

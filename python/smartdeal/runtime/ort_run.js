// ort_run.js - Run an ONNX model on many inputs with ONNX Runtime (npm
// onnxruntime-node): node ort_run.js MODEL IN.bin SHAPE COUNT OUT.bin THREADS.
// IN.bin holds COUNT float32 inputs of SHAPE (comma-separated) back to back;
// OUT.bin gets the first output of each run back to back, and its shape is
// printed as JSON on stdout. Called by smartdeal/ort.py.
const path = require('path');
const fs = require('fs');
const ort = require(path.join(process.env.SD_ORT, 'node_modules', 'onnxruntime-node'));

(async () => {
  const [model, inp, shapeText, countText, out, threads] = process.argv.slice(2);
  const shape = shapeText.split(',').map(Number);
  const count = Number(countText);
  const per = shape.reduce((a, b) => a * b, 1);
  const buf = fs.readFileSync(inp);
  if (buf.byteLength !== 4 * per * count)
    throw new Error(`${inp}: ${buf.byteLength} bytes, expected ${4 * per * count}`);
  const data = new Float32Array(buf.buffer, buf.byteOffset, per * count);
  const session = await ort.InferenceSession.create(
      model, {intraOpNumThreads: Number(threads || 1)});
  const fd = fs.openSync(out, 'w');
  let dims = null;
  for (let i = 0; i < count; i++) {
    const x = new ort.Tensor('float32', data.slice(i * per, (i + 1) * per), shape);
    const result = await session.run({[session.inputNames[0]]: x});
    const y = result[session.outputNames[0]];
    dims = y.dims;
    fs.writeSync(fd, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  fs.closeSync(fd);
  process.stdout.write(JSON.stringify(dims) + '\n');
})().catch((e) => {
  process.stderr.write(`ort_run: ${e.message || e}\n`);
  process.exit(1);
});

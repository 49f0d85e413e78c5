// Runs a TF.js graph model with TF.js itself (the pure-JS CPU backend of @tensorflow/tfjs, which
// `make test` installs) so tests can compare the ONNX conversion against the reference.
// usage: node tfjs_reference.js MODEL_DIR INPUT.f32 H W C OUT_PREFIX OUTPUT_NAME...
// Writes OUT_PREFIX.<i>.f32 (float32, little-endian) for each requested output.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [dir, input, h, w, c, prefix, ...outputs] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'centernet.json')));
  const bin = fs.readFileSync(path.join(dir, spec.weightsManifest[0].paths[0]));
  const handler = {
    load: async () => ({
      modelTopology: spec.modelTopology,
      format: spec.format,
      signature: spec.signature,
      weightSpecs: spec.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  };
  const model = await tf.loadGraphModel(handler);
  const raw = fs.readFileSync(input);
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [1, +h, +w, +c]);
  const results = await model.executeAsync(x, outputs);
  for (const [i, t] of (Array.isArray(results) ? results : [results]).entries()) {
    fs.writeFileSync(`${prefix}.${i}.f32`, Buffer.from((await t.data()).buffer));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

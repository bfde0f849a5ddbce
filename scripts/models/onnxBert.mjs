// Writes a BERT encoder (BertModel layout: input_ids, attention_mask, token_type_ids -> last_hidden_state)
// as ONNX with random weights, fp32 or dynamically quantized int8 (the layout ORT's quantize_dynamic emits).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto');

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

// Seeded PRNG so a committed fixture can be rebuilt byte for byte.
function gaussianSource(seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

class GraphBuilder {
  constructor() {
    this.nodes = [];
    this.initializers = [];
    this.counter = 0;
  }
  name(prefix) {
    return `${prefix}_${this.counter++}`;
  }
  tensor(name, dims, dataType, typedArray) {
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(typedArray.buffer, typedArray.byteOffset, typedArray.byteLength) }),
    );
    return name;
  }
  float(name, dims, values) {
    return this.tensor(name, dims, DT.FLOAT, values instanceof Float32Array ? values : Float32Array.from(values));
  }
  int64(name, dims, values) {
    return this.tensor(name, dims, DT.INT64, BigInt64Array.from(values.map((v) => BigInt(v))));
  }
  node(opType, inputs, attributes = {}, outputCount = 1, prefix = opType) {
    const outputs = Array.from({ length: outputCount }, () => this.name(prefix));
    const attribute = Object.entries(attributes).map(([name, value]) => {
      if (Array.isArray(value)) return { name, type: AT.INTS, ints: value };
      if (Number.isInteger(value)) return { name, type: AT.INT, i: value };
      return { name, type: AT.FLOAT, f: value };
    });
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: this.name(`n_${opType}`), attribute }));
    return outputCount === 1 ? outputs[0] : outputs;
  }
}

/**
 * @param {object} arch { hidden, layers, heads, ffn, vocab, positions, typeVocab }
 * @param {{ quantized: boolean, seed: number, tokenWeights?: Float32Array }} options
 *   tokenWeights: with arch.lexical, each token's embedding length (its weight in the mean-pooled sum)
 * @returns {Uint8Array} the serialised ModelProto
 */
export function buildBertOnnx(arch, { quantized, seed, tokenWeights }) {
  const g = new GraphBuilder();
  const gauss = gaussianSource(seed);
  const random = (count, std = 0.02) => {
    const a = new Float32Array(count);
    for (let i = 0; i < count; i++) a[i] = gauss() * std;
    return a;
  };
  const H = arch.hidden;
  const headDim = H / arch.heads;

  // Symmetric per-tensor int8: what quantize_dynamic(weight_type=QInt8) writes.
  const quantize = (values) => {
    let max = 0;
    for (const v of values) max = Math.max(max, Math.abs(v));
    const scale = max / 127 || 1;
    const q = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(values[i] / scale)));
    return { q, scale };
  };

  const one = g.float('const_one', [], [1]);
  const zeroI8 = g.tensor('const_zero_i8', [], DT.INT8, new Int8Array([0]));

  const linear = (x, inDim, outDim, label) => {
    const w = random(inDim * outDim);
    const b = g.float(`${label}.bias`, [outDim], random(outDim));
    if (!quantized) {
      return g.node('Add', [g.node('MatMul', [x, g.float(`${label}.weight`, [inDim, outDim], w)]), b]);
    }
    const { q, scale } = quantize(w);
    const wq = g.tensor(`${label}.weight_quantized`, [inDim, outDim], DT.INT8, q);
    const ws = g.float(`${label}.weight_scale`, [], [scale]);
    const [xq, xs, xzp] = g.node('DynamicQuantizeLinear', [x], {}, 3);
    const acc = g.node('MatMulInteger', [xq, wq, xzp, zeroI8]);
    const y = g.node('Mul', [g.node('Cast', [acc], { to: DT.FLOAT }), g.node('Mul', [xs, ws])]);
    return g.node('Add', [y, b]);
  };
  const layerNorm = (x, label) => {
    const gamma = g.float(`${label}.weight`, [H], new Float32Array(H).fill(1));
    const beta = g.float(`${label}.bias`, [H], new Float32Array(H));
    return g.node('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: 1e-12 });
  };

  // Embeddings. A lexical model (no layers, no LayerNorm, no positions) embeds a text as the weighted
  // sum of near-orthogonal random token vectors, so its cosine similarity measures shared words.
  const lexical = arch.lexical === true;
  const wordValues = random(arch.vocab * H, lexical ? 1 : 0.02);
  if (lexical && tokenWeights) {
    for (let t = 0; t < arch.vocab; t++) for (let d = 0; d < H; d++) wordValues[t * H + d] *= tokenWeights[t];
  }
  let words;
  if (quantized) {
    const { q, scale } = quantize(wordValues);
    const table = g.tensor('embeddings.word_embeddings.weight_quantized', [arch.vocab, H], DT.INT8, q);
    const gathered = g.node('Gather', [table, 'input_ids'], { axis: 0 });
    words = g.node('DequantizeLinear', [gathered, g.float('embeddings.word_embeddings.weight_scale', [], [scale]), zeroI8]);
  } else {
    words = g.node('Gather', [g.float('embeddings.word_embeddings.weight', [arch.vocab, H], wordValues), 'input_ids'], { axis: 0 });
  }
  const shape = g.node('Shape', ['input_ids']);
  const seqLen = g.node('Gather', [shape, g.int64('const_index_one', [], [1])], { axis: 0 });
  const positionIds = g.node('Range', [g.int64('const_zero_i64', [], [0]), seqLen, g.int64('const_one_i64', [], [1])]);
  const positions = g.node('Gather', [g.float('embeddings.position_embeddings.weight', [arch.positions, H], lexical ? new Float32Array(arch.positions * H) : random(arch.positions * H)), positionIds], { axis: 0 });
  const types = g.node('Gather', [g.float('embeddings.token_type_embeddings.weight', [arch.typeVocab, H], lexical ? new Float32Array(arch.typeVocab * H) : random(arch.typeVocab * H)), 'token_type_ids'], { axis: 0 });
  const summed = g.node('Add', [g.node('Add', [words, positions]), types]);
  let x = lexical ? summed : layerNorm(summed, 'embeddings.LayerNorm');

  // Additive attention mask [B,1,1,S]: 0 where attended, -10000 on padding (as HF BERT).
  const maskF = g.node('Cast', ['attention_mask'], { to: DT.FLOAT });
  const mask4 = g.node('Unsqueeze', [maskF, g.int64('const_axes_12', [2], [1, 2])]);
  const maskBias = g.node('Mul', [g.node('Sub', [one, mask4]), g.float('const_mask_value', [], [-10000])]);

  const headsShape = g.int64('const_heads_shape', [4], [0, 0, arch.heads, headDim]);
  const mergedShape = g.int64('const_merged_shape', [3], [0, 0, H]);
  const scale = g.float('const_attention_scale', [], [1 / Math.sqrt(headDim)]);
  const half = g.float('const_half', [], [0.5]);
  const sqrt2 = g.float('const_sqrt2', [], [Math.SQRT2]);

  for (let l = 0; l < arch.layers; l++) {
    const p = `encoder.layer.${l}`;
    const split = (t, perm) => g.node('Transpose', [g.node('Reshape', [t, headsShape])], { perm });
    const q = split(linear(x, H, H, `${p}.attention.self.query`), [0, 2, 1, 3]);
    const k = split(linear(x, H, H, `${p}.attention.self.key`), [0, 2, 3, 1]);
    const v = split(linear(x, H, H, `${p}.attention.self.value`), [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, k]), scale]), maskBias]);
    const probs = g.node('Softmax', [scores], { axis: -1 });
    const context = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergedShape]);
    const attended = linear(context, H, H, `${p}.attention.output.dense`);
    x = layerNorm(g.node('Add', [attended, x]), `${p}.attention.output.LayerNorm`);
    const inner = linear(x, H, arch.ffn, `${p}.intermediate.dense`);
    // Exact (erf) GELU, as BERT; ORT fuses this pattern into Gelu.
    const gelu = g.node('Mul', [g.node('Mul', [inner, half]), g.node('Add', [g.node('Erf', [g.node('Div', [inner, sqrt2])]), one])]);
    const out = linear(gelu, arch.ffn, H, `${p}.output.dense`);
    x = layerNorm(g.node('Add', [out, x]), `${p}.output.LayerNorm`);
  }
  g.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [x], output: ['last_hidden_state'], name: 'output_identity' }));

  const tensorType = (elemType, dims) => ({
    tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } },
  });
  const graph = onnx.GraphProto.create({
    name: 'bert',
    node: g.nodes,
    initializer: g.initializers,
    input: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, type: tensorType(DT.INT64, ['batch_size', 'sequence_length']) })),
    output: [{ name: 'last_hidden_state', type: tensorType(DT.FLOAT, ['batch_size', 'sequence_length', H]) }],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pisar-review/scripts/build-test-models.mjs',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * One matrix product C = A x B with both as inputs (no weights), [n, n] x [n, n]: fp32 MatMul, or int8 x int8 ->
 * int32 MatMulInteger (the operator of a dynamically quantized model), for measuring the machine's peak.
 * @param {'fp32' | 'int8'} kind
 * @returns {Uint8Array} the serialised ModelProto
 */
export function buildMatMulOnnx(kind, n) {
  const input = kind === 'int8' ? DT.UINT8 : DT.FLOAT;
  const signed = kind === 'int8' ? DT.INT8 : DT.FLOAT;
  const tensorType = (elemType) => ({ tensorType: { elemType, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } });
  const graph = onnx.GraphProto.create({
    name: `matmul_${kind}`,
    node: [onnx.NodeProto.create({ opType: kind === 'int8' ? 'MatMulInteger' : 'MatMul', input: ['a', 'b'], output: ['c'], name: 'product' })],
    input: [{ name: 'a', type: tensorType(input) }, { name: 'b', type: tensorType(signed) }],
    output: [{ name: 'c', type: tensorType(kind === 'int8' ? DT.INT32 : DT.FLOAT) }],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, producerName: 'pisar-review/scripts/bench', opsetImport: [{ domain: '', version: 17 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

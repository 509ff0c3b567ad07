// reference.js — the Hugging Face tokenizers reference (npm "tokenizers", the Rust library
// with node bindings), for the conformance test and the benchmark.
//
//   node reference.js ids   CHUNKS (TOKENIZER_JSON OUT)...  ids of every chunk, per tokenizer
//   node reference.js bench CHUNKS TOKENIZER_JSON           throughput as one JSON line
//
// CHUNKS holds texts as [u32 little-endian byte length][bytes]...; each is decoded as UTF-8
// the way Node does (an ill-formed subsequence becomes U+FFFD). OUT receives, per chunk,
// [u32 count][i32 ids...] of encode(text, addSpecialTokens = false).
'use strict';
const fs = require('fs');
const path = require('path');

function loadTokenizers() {
  try {
    return require(path.join(__dirname, 'node_modules', 'tokenizers'));
  } catch (e) {
    console.error('reference.js: the npm package "tokenizers" is not installed (run npm ci in ' + __dirname + ')');
    process.exit(3);
  }
}

function readChunks(file) {
  const buf = fs.readFileSync(file);
  const texts = [];
  let bytes = 0;
  for (let off = 0; off < buf.length;) {
    const n = buf.readUInt32LE(off);
    off += 4;
    texts.push(buf.subarray(off, off + n).toString('utf8'));
    off += n;
    bytes += n;
  }
  return { texts, bytes };
}

async function ids(chunkFile, pairs) {
  const { Tokenizer } = loadTokenizers();
  const { texts } = readChunks(chunkFile);
  for (let k = 0; k < pairs.length; k += 2) {
    const tok = Tokenizer.fromFile(pairs[k]);
    const encodings = await tok.encodeBatch(texts, { addSpecialTokens: false });
    const parts = [];
    for (const e of encodings) {
      const list = e.getIds();
      const b = Buffer.alloc(4 + 4 * list.length);
      b.writeUInt32LE(list.length, 0);
      for (let i = 0; i < list.length; ++i) b.writeInt32LE(list[i], 4 + 4 * i);
      parts.push(b);
    }
    fs.writeFileSync(pairs[k + 1], Buffer.concat(parts));
  }
}

async function bench(chunkFile, tokenizerFile) {
  const { Tokenizer } = loadTokenizers();
  const { texts, bytes } = readChunks(chunkFile);
  const tok = Tokenizer.fromFile(tokenizerFile);
  // Warm up (first calls allocate caches), then time one pass each way.
  for (let i = 0; i < Math.min(texts.length, 50); ++i) await tok.encode(texts[i], null, { addSpecialTokens: false });
  let tokens = 0;
  let t0 = process.hrtime.bigint();
  for (const t of texts) tokens += (await tok.encode(t, null, { addSpecialTokens: false })).getIds().length;
  const single = Number(process.hrtime.bigint() - t0) / 1e9;
  // encodeBatch runs on the rayon pool: RAYON_NUM_THREADS sets its size.
  t0 = process.hrtime.bigint();
  await tok.encodeBatch(texts, { addSpecialTokens: false });
  const batch = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ bytes, tokens, single_s: single, batch_s: batch }));
}

const [mode, chunkFile, ...rest] = process.argv.slice(2);
const run = mode === 'ids' ? ids(chunkFile, rest) : mode === 'bench' ? bench(chunkFile, rest[0]) : null;
if (!run) {
  console.error('usage: node reference.js ids CHUNKS (TOKENIZER_JSON OUT)... | bench CHUNKS TOKENIZER_JSON');
  process.exit(2);
}
run.catch((e) => {
  console.error('reference.js: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

// llama_cpp_decode.mjs — greedy decoding speed of llama.cpp (node-llama-cpp's prebuilt CPU
// build) on a GGUF file: the prompt [BOS], then N tokens; prints
// {"tokens": [...], "decode_seconds": s} where s runs from the first generated token to the last.
// Usage: node llama_cpp_decode.mjs MODEL.gguf N THREADS
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, count, threads] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 512, batchSize: 512, threads});
const sequence = context.getSequence();
const tokens = [];
let first = 0;
for await (const token of sequence.evaluate([model.tokens.bos ?? 1], {temperature: 0})) {
  tokens.push(token);
  if (tokens.length === 1) first = performance.now();
  if (tokens.length >= count) break;
}
const seconds = (performance.now() - first) / 1000;
process.stdout.write(JSON.stringify({tokens, decode_seconds: seconds}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();

// llama_cpp.mjs — asks llama.cpp itself (through node-llama-cpp's prebuilt CPU build) about a
// GGUF file: whether it loads, how it tokenizes some strings, its greedy continuation of a
// prompt of token ids, and its next-token probabilities after that prompt.
// Usage: node llama_cpp.mjs REQUEST.json  ->  JSON on stdout
//   request: {"model": path, "prompt": [ids], "predict": n, "texts": [strings], "top": k}
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: request.model});
const result = {vocab: model.fileInsights ? undefined : undefined, tokenized: [], greedy: [], probabilities: []};
for (const text of request.texts ?? []) result.tokenized.push(Array.from(model.tokenize(text, false)));

const context = await model.createContext({contextSize: request.context ?? 256, batchSize: 256, threads: 2});
if (request.prompt?.length) {
  // The distribution of the first next token, unshaped by any sampler.
  let sequence = context.getSequence();
  for await (const out of sequence.evaluateWithMetadata(request.prompt, {probabilities: true},
                                                        {temperature: 1, topK: 0, topP: 1, minP: 0})) {
    const top = Array.from(out.probabilities.entries()).slice(0, request.top ?? 10);
    result.probabilities = top.map(([token, p]) => [token, p]);
    break;
  }
  sequence.dispose();
  sequence = context.getSequence();
  for await (const token of sequence.evaluate(request.prompt, {temperature: 0, yieldEogToken: true})) {
    result.greedy.push(token);
    if (result.greedy.length >= (request.predict ?? 32)) break;
  }
}
process.stdout.write(JSON.stringify(result) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();

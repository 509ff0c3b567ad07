// llama_cpp.mjs — asks llama.cpp itself (node-llama-cpp's prebuilt CPU build) about GGUF files:
// whether each loads, how it tokenizes some strings, its greedy continuation of a prompt of
// token ids, and its next-token probabilities after that prompt.
// Usage: node llama_cpp.mjs REQUESTS.json  ->  one JSON array on stdout, a result per request
//   request: {"model": path, "prompt": [ids], "predict": n, "texts": [strings], "top": k}
//   result:  {"tokenized": [[ids]], "greedy": [ids], "probabilities": [[id, p]]} or {"error": text}
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const requests = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});

async function ask(request) {
  const model = await llama.loadModel({modelPath: request.model});
  const result = {tokenized: [], greedy: [], probabilities: []};
  for (const text of request.texts ?? []) result.tokenized.push(Array.from(model.tokenize(text, true)));  // special tokens in the text count, as in HF
  if (request.prompt?.length) {
    const context = await model.createContext({contextSize: 256, batchSize: 256, threads: 2});
    // The distribution of the first next token, unshaped by any sampler.
    let sequence = context.getSequence();
    for await (const out of sequence.evaluateWithMetadata(request.prompt, {probabilities: true},
                                                          {temperature: 1, topK: 0, topP: 1, minP: 0})) {
      result.probabilities = Array.from(out.probabilities.entries()).slice(0, request.top ?? 10);
      break;
    }
    sequence.dispose();
    sequence = context.getSequence();
    for await (const token of sequence.evaluate(request.prompt, {temperature: 0, yieldEogToken: true})) {
      result.greedy.push(token);
      if (result.greedy.length >= (request.predict ?? 32)) break;
    }
    await context.dispose();
  }
  await model.dispose();
  return result;
}

const results = [];
for (const request of requests) {
  try {
    results.push(await ask(request));
  } catch (e) {
    results.push({error: String(e?.message ?? e)});
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
await llama.dispose();

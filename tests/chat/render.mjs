// render.mjs — the reference for chat prompts: a tokenizer_config.json's chat template rendered
// by Hugging Face's jinja (as transformers' apply_chat_template with add_generation_prompt),
// then encoded by Hugging Face tokenizers without adding special tokens.
//
//   node render.mjs TOKENIZER_DIR CONVERSATIONS_JSON   ->   [[ids...], ...] on stdout
// conversations.json: a list of message lists, each ending with the user's message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import tokenizers from 'tokenizers';

const dir = process.argv[2];
const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
const special = (t) => (t && typeof t === 'object' ? t.content : t) ?? '';
const template = new Template(config.chat_template);
const tokenizer = tokenizers.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
const conversations = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const out = [];
for (const messages of conversations) {
  const text = template.render({
    messages,
    bos_token: special(config.bos_token),
    eos_token: special(config.eos_token),
    add_generation_prompt: true,
  });
  const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
  out.push(encoding.getIds());
}
process.stdout.write(JSON.stringify(out) + '\n');

// onig_classes.js — which code points the reference's regex engine (Oniguruma inside npm
// "tokenizers") puts in each Unicode general category: one file per category, a code point
// per line. Input for gen_unicode_additions.sh.
//   node onig_classes.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, '..', 'node_modules', 'tokenizers'));
const outDir = process.argv[2];
const cats = ['L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'Mn', 'Mc', 'Me', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Ps',
              'Pe', 'Pi', 'Pf', 'Po', 'S', 'Sm', 'Sc', 'Sk', 'So', 'Z', 'Zs', 'Zl', 'Zp'];
const cps = [];
for (let c = 0; c <= 0x10FFFF; ++c) if (c < 0xD800 || c > 0xDFFF) cps.push(c);
// Each code point followed by \x01: an isolated match that is one code point is a member.
const text = cps.map((c) => String.fromCodePoint(c) + '\x01').join('');
for (const cat of cats) {
  const json = { version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: '\\p{' + cat + '}' }, behavior: 'Isolated', invert: false },
    post_processor: null, decoder: null, model: { type: 'BPE', vocab: { a: 0 }, merges: [] } };
  const pieces = Tokenizer.fromString(JSON.stringify(json)).getPreTokenizer().preTokenizeString(text);
  const members = [];
  for (const [s] of pieces) if (!s.includes('\x01') && [...s].length === 1) members.push(s.codePointAt(0));
  fs.writeFileSync(path.join(outDir, cat + '.txt'), members.join('\n') + '\n');
}
